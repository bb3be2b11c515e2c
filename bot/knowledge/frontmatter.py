"""Front matter parsing with a fast path.

Articles are read at every start and on `kb reload`, and a corpus may hold tens of
thousands. Simple `key: value` lines (plain or JSON-quoted scalars, JSON lists) are
parsed directly; anything else falls back to a YAML parser (libyaml's when present).
Both paths give the same result for the simple lines (a test checks).
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*):(?:\s+(.*?))?\s*$")
_PLAIN = re.compile(r"^[^\"'\[\]{}#&*!|>%@`,:][^#]*$")
_SPECIAL = frozenset({"null", "~", "true", "false", "yes", "no", "on", "off"})


class FrontMatterError(ValueError):
    def __init__(self, line: int, problem: str) -> None:
        super().__init__(problem)
        self.line = line


def _scalar(raw: str) -> Any:
    if raw == "" or raw.lower() in ("null", "~"):
        return None
    if raw.startswith('"'):
        return json.loads(raw)
    if raw.startswith("["):
        if '"' in raw or "'" in raw or not raw.endswith("]"):
            return json.loads(raw)
        items = [item.strip() for item in raw[1:-1].split(",")]
        if any(not _PLAIN.match(item) or ": " in item for item in items if item):
            raise ValueError("needs YAML")
        return [item for item in items if item]
    if raw.lower() in _SPECIAL or re.fullmatch(r"[-+]?[0-9][0-9_.:eE+-]*", raw):
        raise ValueError("needs YAML")
    if not _PLAIN.match(raw) or ": " in raw:
        raise ValueError("needs YAML")
    return raw


def parse_front_matter(text: str) -> dict[str, Any]:
    """Parse the text between the `---` lines; raise `FrontMatterError` with a line number."""
    fast: dict[str, Any] = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if match is None:
            break
        try:
            fast[match.group(1)] = _scalar(match.group(2) or "")
        except ValueError:
            break
    else:
        return fast
    try:
        meta = yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise FrontMatterError(mark.line + 1 if mark else 0, f"not valid YAML ({exc})") from None
    if not isinstance(meta, dict):
        raise FrontMatterError(0, "must be a mapping of keys to values")
    return meta

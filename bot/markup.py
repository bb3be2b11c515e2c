"""The one text markup of a `Reply` (and of KB articles and reports): a CommonMark subset,
converted per platform — Slack mrkdwn (`to_mrkdwn`), plain text for the console and
notification fallbacks (`to_plain`); Teams reads CommonMark as it is.

What it knows:

- inline: `**bold**` (or `__bold__`), `*emphasis*` (or `_emphasis_`), `~~struck~~`,
  `` `code` ``, links `[text](https://…)` and autolinks `<https://…>`;
- blocks: `#`–`######` headings, `-` / `*` / `+` bullets, `1.` numbered items, `>` quotes,
  fenced code (```` ``` ````), and GitHub tables (`| a | b |` rows, a `|---|` rule).

Anything else is text. A link is shown with its address in the open, `text (url)`, never
as a label over a hidden address: a reply can echo what a user typed, and a typed
`[your payslip](https://evil.example)` must not become a disguised link. For Slack every
text is escaped (`& < >`), so nothing typed becomes a mention or a Slack link.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_INLINE = re.compile(
    r"(?P<code>`[^`\n]+`)"
    r"|\[(?P<label>[^\]\n]+)\]\((?P<href>[^)\s]+)\)"
    r"|<(?P<auto>(?:https?://|mailto:)[^>\s]+)>"
    r"|\*\*(?P<bold>[^*\n]+?)\*\*|__(?P<bold2>[^_\n]+?)__"
    r"|~~(?P<strike>[^~\n]+?)~~"
    r"|(?<![\w*])\*(?P<em>[^*\s](?:[^*\n]*?[^*\s])?)\*(?![\w*])"
    r"|(?<![\w_])_(?P<em2>[^_\s](?:[^_\n]*?[^_\s])?)_(?![\w_])"
)
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^(\s*)(\d{1,9})[.)]\s+(.*)$")
_QUOTE = re.compile(r"^\s{0,3}>\s?(.*)$")
_FENCE = re.compile(r"^\s{0,3}```")
_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def escape(text: str) -> str:
    """Slack's control characters as entities: `& < >` (in that order)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _inline(text: str, wrap: Callable[[str, str], str], quote: Callable[[str], str]) -> str:
    out: list[str] = []
    at = 0
    for match in _INLINE.finditer(text):
        out.append(quote(text[at : match.start()]))
        at = match.end()
        kind = match.lastgroup or ""
        if kind == "href":
            out.append(f"{quote(match['label'])} ({quote(match['href'])})")
        elif kind == "auto":
            out.append(quote(match["auto"]))
        elif kind == "code":
            out.append(wrap("code", quote(match["code"][1:-1])))
        else:
            inner = match[kind]
            style = {"bold2": "bold", "em2": "em"}.get(kind, kind)
            out.append(wrap(style, _inline(inner, wrap, quote)))
    out.append(quote(text[at:]))
    return "".join(out)


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _table(rows: list[str], inline: Callable[[str], str]) -> list[str]:
    """Table rows as aligned monospace lines (the `|---|` rule dropped)."""
    cells = [[inline(c) for c in _cells(row)] for row in rows if not _RULE.match(row)]
    widths = [max(len(r[i]) if i < len(r) else 0 for r in cells) for i in range(len(cells[0]))]
    return [
        "  ".join(c.ljust(widths[i]) for i, c in enumerate(r[: len(widths)])).rstrip()
        for r in cells
    ]


def _convert(
    text: str,
    inline: Callable[[str], str],
    heading: Callable[[str], str],
    code_block: Callable[[list[str]], list[str]],
    quote_line: Callable[[str], str],
    code_quote: Callable[[str], str],
) -> str:
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):
            body = []
            i += 1
            while i < len(lines) and not _FENCE.match(lines[i]):
                body.append(code_quote(lines[i]))
                i += 1
            out += code_block(body)
            i += 1
            continue
        if line.lstrip().startswith("|") and i + 1 < len(lines) and _RULE.match(lines[i + 1]):
            rows = []
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                rows.append(lines[i])
                i += 1
            out += code_block(_table(rows, lambda c: code_quote(_plain_inline(c))))
            continue
        if found := _HEADING.match(line):
            out.append(heading(inline(found[2])))
        elif found := _BULLET.match(line):
            out.append(f"{found[1]}• {inline(found[2])}")
        elif found := _NUMBERED.match(line):
            out.append(f"{found[1]}{found[2]}. {inline(found[3])}")
        elif found := _QUOTE.match(line):
            out.append(quote_line(inline(found[1])))
        else:
            out.append(inline(line))
        i += 1
    return "\n".join(out)


_SLACK = {"bold": "*{}*", "em": "_{}_", "strike": "~{}~", "code": "`{}`"}


def _plain_inline(text: str) -> str:
    return _inline(text, lambda _, inner: inner, lambda s: s)


def to_mrkdwn(text: str) -> str:
    """The markup as Slack mrkdwn, every text escaped."""
    return _convert(
        text,
        lambda line: _inline(line, lambda style, inner: _SLACK[style].format(inner), escape),
        lambda head: f"*{head}*",
        lambda body: ["```", *body, "```"] if body else [],
        lambda line: f"> {line}",
        escape,
    )


def to_plain(text: str) -> str:
    """The markup as plain text: the words, bullets as `•`, links with their address."""
    return _convert(
        text,
        _plain_inline,
        lambda head: head,
        lambda body: body,
        lambda line: f"  {line}",
        lambda line: line,
    )

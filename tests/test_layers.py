"""Import contracts: which part of the bot may import which, read from the source.

Every `import` counts, also one inside a function or under `if TYPE_CHECKING:` (a
function-local import is how a layer rule is usually dodged). The rules:

- **Adapters only translate** (`bot/adapters/`): they import the neutral messages, the
  markup, the outbox's renderer and transport protocol, the inbox they hand messages to,
  the adapter protocol, and each other within one adapter; never the store, handlers,
  tickets, reports, integrations or the engine's insides. They never touch `services.db`,
  write no SQL and no audit record (read from the source, below).
- **Nothing imports an adapter** except the composition root (`bot.app`, `bot.server`,
  `bot.serve`) and the CLI.
- **The core does not import upward**: the store, tickets, reports, integrations,
  knowledge and intents never import handlers, the engine, the inbox, the server or an
  adapter; handlers never import the engine, the inbox, the server or an adapter.
- **No import cycles** between the bot's modules.

`KNOWN` lists today's violations; it may only shrink: a listed violation that is gone
fails too, so the list is kept honest.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "bot"

ADAPTER_MAY_IMPORT = (
    "bot.adapters",
    "bot.messages",
    "bot.markup",
    "bot.errors",
    "bot.clock",
    "bot.chat_numbers",
    "bot.outbox.render",
    "bot.outbox.transport",
    "bot.i18n",
)
"""What an adapter may import from the bot (its own package included)."""

ROOTS = ("bot.app", "bot.server", "bot.serve", "bot.cli", "bot.__main__", "bot.doctor")
"""The composition root and the CLI: they may import anything (`bot.doctor`, behind
`helpdesk doctor`, builds each configured part, adapters included, to contact it)."""

CORE = (
    "bot.store",
    "bot.tickets",
    "bot.reports",
    "bot.integrations",
    "bot.knowledge",
    "bot.intents",
    "bot.messages",
    "bot.markup",
    "bot.i18n",
)
ABOVE_CORE = ("bot.handlers", "bot.engine", "bot.inbox", "bot.server", "bot.serve", "bot.adapters")
ABOVE_HANDLERS = ("bot.engine", "bot.inbox", "bot.server", "bot.serve", "bot.adapters")

KNOWN: frozenset[tuple[str, str]] = frozenset()
"""(importer, imported) pairs that break a rule today; only ever shrinks."""

KNOWN_CYCLES: frozenset[frozenset[str]] = frozenset()
"""Import cycles today (the modules in each); only ever shrinks."""

KNOWN_ADAPTER_SOURCE: frozenset[tuple[str, str]] = frozenset()
"""(adapter module, what it does) for adapters that still touch the store themselves."""

SQL_WORDS = ("SELECT ", "INSERT INTO", "UPDATE ", "DELETE FROM")


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module(p): p for p in sorted(BOT.rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """Every bot module `name` imports, wherever the import statement stands."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from bot.x import y` imports bot.x.y when y is a module, else bot.x
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
            ]
        else:
            continue
        for target in targets:
            if target == "bot" or target.startswith("bot."):
                yield target


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {
        name: {t for t in _imports(name, path, known) if t != name}
        for name, path in modules.items()
    }


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _breaks_a_rule(importer: str, target: str) -> bool:
    if _under(importer, ("bot.adapters",)):
        return not _under(target, ADAPTER_MAY_IMPORT)
    if _under(target, ("bot.adapters",)):
        return not _under(importer, ROOTS) and not importer.startswith("bot.cli")
    if _under(importer, CORE):
        return _under(target, ABOVE_CORE)
    if _under(importer, ("bot.handlers",)):
        return _under(target, ABOVE_HANDLERS)
    return False


def _violations(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    return {
        (importer, target)
        for importer, targets in graph.items()
        for target in targets
        if _breaks_a_rule(importer, target)
    }


def _cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[frozenset[str]] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in graph:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: set[str] = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.add(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _adapter_source() -> set[tuple[str, str]]:
    """What an adapter's own source does that only the core may: SQL, `services.db`, audit."""
    found: set[tuple[str, str]] = set()
    for name, path in _modules().items():
        if not _under(name, ("bot.adapters",)):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("db", "conn"):
                found.add((name, f".{node.attr}"))
            if isinstance(node, ast.Attribute) and node.attr == "audit":
                found.add((name, "audit"))
            if isinstance(node, ast.Name) and node.id == "AuditEntry":
                found.add((name, "audit"))
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                upper = node.value.upper()
                if any(word in upper for word in SQL_WORDS) and "FROM" in upper + " INTO":
                    found.add((name, "SQL"))
    return found


def test_the_import_graph_is_read_including_function_local_imports() -> None:
    graph = _graph()
    assert "bot.engine" in graph and "bot.messages" in graph["bot.engine"]
    # `bot.cli` imports the console adapter inside its `chat` command
    assert "bot.adapters.console" in graph["bot.cli"]


def test_layers_are_kept_and_known_violations_only_shrink() -> None:
    found = _violations(_graph())
    assert found - KNOWN == set(), "new layer violations"
    assert KNOWN - found == set(), "fixed: remove these from KNOWN"


def test_no_new_import_cycles() -> None:
    found = _cycles(_graph())
    assert found - KNOWN_CYCLES == set(), "new import cycles"
    assert KNOWN_CYCLES - found == set(), "gone: remove these from KNOWN_CYCLES"


def test_adapters_hold_no_sql_no_database_and_no_audit() -> None:
    found = _adapter_source()
    assert found - KNOWN_ADAPTER_SOURCE == set()
    assert KNOWN_ADAPTER_SOURCE - found == set(), "fixed: remove these"


def test_no_exception_is_left_for_an_adapter() -> None:
    """The end state: every rule holds for the adapters without exceptions."""
    assert not [pair for pair in KNOWN if pair[0].startswith("bot.adapters")]
    assert not KNOWN_ADAPTER_SOURCE


def test_adapters_hold_no_user_facing_sentence() -> None:
    """User-facing text lives in the catalogues (bot/locales), in both languages: an adapter
    holds no Chinese text and no English sentence of its own (docstrings and log lines
    aside)."""
    han = re.compile(r"[\u4e00-\u9fff]")
    found = []
    for name, path in _modules().items():
        if not _under(name, ("bot.adapters",)):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {  # a module's, class's or function's, and attribute docstrings
            id(node.value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        }
        logged = {
            id(arg)
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("debug", "info", "warning", "error", "exception")
            for arg in node.args
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
                continue
            if id(node) in docstrings or id(node) in logged:
                continue
            if han.search(node.value) or re.search(
                r"[A-Z][a-z]+ [a-z]+ [a-z]+.*[.!?]$", node.value
            ):
                found.append((name, node.value[:40]))
    assert found == []

"""YAML parsing that remembers where things are, and refuses input built to exhaust us.

`read_yaml` composes the node graph (with a nesting guard), measures it with aliases expanded
(an alias "bomb" is a few hundred bytes that expand to 10⁹ nodes; a self-referencing anchor is a
cycle), finds duplicate keys (PyYAML silently keeps the last), then builds Python data. `locate`
turns a pydantic error location into a line number and a readable field path.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

# A real scenario nests about 7 levels deep and has a few hundred nodes.
MAX_DEPTH = 40
MAX_NODES = 100_000


_BOOL_TAG = "tag:yaml.org,2002:bool"


class YamlInputError(Exception):
    """The text is not YAML we are willing to read; `line` is 1-based when known."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass(frozen=True, slots=True)
class YamlDocument:
    root: yaml.Node | None
    data: Any
    duplicate_keys: list[tuple[int, str]]


class _GuardedLoader(yaml.SafeLoader):
    """SafeLoader whose (recursive) composer stops at MAX_DEPTH before Python's stack does.

    Booleans are YAML 1.2's `true`/`false` only: under YAML 1.1 a key `on:` (FailoverBlock.on)
    becomes True and `region: no` becomes False. pydantic still reads "yes"/"off" as booleans.
    """

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.depth = 0
        self.current: yaml.Node | None = None

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise YamlInputError(mark.line + 1, f"nested more than {MAX_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        self.current = node  # so a constructor's ValueError can name its line
        return super().construct_object(node, deep)


_GuardedLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def read_yaml(text: str) -> YamlDocument:
    """Parse one YAML document. Raises YamlInputError (never anything else) for unusable text."""
    try:
        loader = _GuardedLoader(text)  # the reader already rejects unprintable characters
    except yaml.YAMLError as exc:
        raise YamlInputError(_error_line(exc, text), f"not valid YAML: {_describe(exc)}") from None
    try:
        try:
            root = loader.get_single_node()
        except yaml.YAMLError as exc:
            raise YamlInputError(
                _error_line(exc, text), f"not valid YAML: {_describe(exc)}"
            ) from None
        if root is None:
            return YamlDocument(None, None, [])
        _check_expanded_size(root)
        duplicates = _duplicate_keys(root)  # before construction, which flattens `<<` merges
        try:
            data = loader.construct_document(root)
        except yaml.YAMLError as exc:
            raise YamlInputError(
                _error_line(exc, text), f"not valid YAML: {_describe(exc)}"
            ) from None
        except Exception as exc:
            # Explicit tags reach PyYAML constructors that raise ValueError, KeyError,
            # AttributeError...: `!!timestamp nope`, `!!bool maybe`, `!!int 0x`.
            raise _unconstructable(loader.current, exc) from None
        return YamlDocument(root, data, duplicates)
    finally:
        loader.dispose()


def _unconstructable(node: yaml.Node | None, exc: Exception) -> YamlInputError:
    if not isinstance(node, yaml.ScalarNode):
        line = node.start_mark.line + 1 if node is not None else None
        return YamlInputError(line, f"not valid YAML: {exc}")
    value = repr(node.value) if len(node.value) <= 40 else repr(node.value[:37] + "...")
    kind = str(node.tag).rsplit(":", 1)[-1]
    why = f" ({exc})" if isinstance(exc, ValueError | OverflowError) else ""
    return YamlInputError(node.start_mark.line + 1, f"{value} is not a valid YAML {kind}{why}")


def _error_line(exc: yaml.YAMLError, text: str) -> int | None:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        return int(mark.line) + 1
    position = getattr(exc, "position", None)  # ReaderError: offset of the bad character
    if isinstance(position, int):
        return text.count("\n", 0, position) + 1
    return None


def _describe(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError):
        context = str(exc.context or "")
        start, here = exc.context_mark, exc.problem_mark
        if context and start is not None and here is not None and start.line != here.line:
            context += f" (from line {start.line + 1})"  # e.g. where an unclosed `[` opened
        parts = [p for p in (context, str(exc.problem or "")) if p]
        if parts:
            return ", ".join(parts)
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_expanded_size(root: yaml.Node) -> None:
    """Count nodes and depth as if every alias were copied out; refuse cycles and bombs.

    Iterative, memoised per node: linear in the composed graph however large the expansion.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            kids = _children(node)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            if size[key] > MAX_NODES:
                raise YamlInputError(
                    node.start_mark.line + 1,
                    f"expands to more than {MAX_NODES} nodes (too many aliases?)",
                )
            if depth[key] > MAX_DEPTH:
                raise YamlInputError(
                    node.start_mark.line + 1, f"nested more than {MAX_DEPTH} levels deep"
                )
            continue
        if key in size:
            continue
        on_path.add(key)
        stack.append((node, True))
        for kid in _children(node):
            if id(kid) in on_path:
                raise YamlInputError(kid.start_mark.line + 1, "an alias refers to itself (a cycle)")
            if id(kid) not in size:
                stack.append((kid, False))


def _duplicate_keys(root: yaml.Node) -> list[tuple[int, str]]:
    """(line, path) of every mapping key written twice in the same mapping."""
    found: list[tuple[int, str]] = []
    visited: set[int] = set()  # an aliased node is reported once, under its first path

    def walk(node: yaml.Node, path: list[str]) -> None:
        if id(node) in visited:
            return
        visited.add(id(node))
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                name = str(getattr(key, "value", "?"))
                if name in seen and name != "<<":
                    found.append((key.start_mark.line + 1, _join([*path, _shown_key(name)])))
                seen.add(name)
                walk(value, [*path, _shown_key(name)])
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, [*path, f"[{index}]"])

    walk(root, [])
    return found


def locate(
    root: yaml.Node | None, data: Any, path: Sequence[object], *, keep_missing_last: bool = True
) -> tuple[int | None, str]:
    """Line (1-based) of the deepest node along `path`, and the path as a display string.

    `data` is what was validated (the YAML plus any overrides). A part absent from it is a
    pydantic union tag (`dns.nodata`, `function-after[...]`) and is skipped — except a last part
    when `keep_missing_last`, which names a field that is required but missing.
    """
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    shown: list[str] = []
    parts = list(path)
    for position, part in enumerate(parts):
        is_last = position == len(parts) - 1
        if isinstance(data, dict):
            match = next((k for k in data if _same_key(k, part)), _ABSENT)
            if match is _ABSENT:
                if is_last and keep_missing_last:
                    shown.append(_shown_key(part))
                continue
            data = data[match]
            shown.append(_shown_key(match))
            key_node, node = _mapping_entry(node, match)
            if key_node is not None:  # the line that names the field, even for a block value
                line = key_node.start_mark.line + 1
        elif isinstance(data, list | tuple) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
            shown.append(f"[{part}]")
            node = node.value[part] if isinstance(node, yaml.SequenceNode) else None
            if node is not None:
                line = node.start_mark.line + 1
    return line, _join(shown)


_ABSENT = object()


def _same_key(key: object, part: object) -> bool:
    # pydantic writes a non-str key (a YAML date, say) in locations as its repr
    return _key_text(key) == _key_text(part) or repr(key) == part


def _shown_key(key: object) -> str:
    """A key as it reads in a field path: plain if it looks like a field name, else quoted."""
    text = _key_text(key)
    return text if _PLAIN_KEY.match(text) else repr(text)


_PLAIN_KEY = re.compile(r"^[\w.-]{1,64}$", re.ASCII)


def _key_text(key: object) -> str:
    return key if isinstance(key, str) else str(key)


def _mapping_entry(
    node: yaml.Node | None, key: object
) -> tuple[yaml.Node | None, yaml.Node | None]:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in reversed(node.value):  # the last one wins, as in the data
            if getattr(key_node, "value", None) == _key_text(key):
                return key_node, value_node
    return None, None


def _join(parts: list[str]) -> str:
    out = ""
    for part in parts:
        out += part if part.startswith("[") or not out else f".{part}"
    return out

"""YAML parsing that remembers where things are: field path -> line, and duplicate-key detection."""

from __future__ import annotations

from collections.abc import Sequence

import yaml

PathPart = str | int


def compose(text: str) -> yaml.Node | None:
    return yaml.compose(text, Loader=yaml.SafeLoader)


def locate(root: yaml.Node | None, path: Sequence[object]) -> tuple[int | None, str]:
    """Line (1-based) of the deepest node along `path`, and the path as a display string.

    Path parts that do not exist in the YAML (pydantic's union tags and the like) are skipped,
    except a last part naming a missing field, which is kept so the message says which field.
    """
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    shown: list[str] = []
    parts = list(path)
    for position, part in enumerate(parts):
        is_last = position == len(parts) - 1
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if getattr(k, "value", None) == str(part)), None)
            if found is not None:
                shown.append(str(part))
                node = found
                line = node.start_mark.line + 1
            elif is_last and not isinstance(part, int):
                shown.append(str(part))
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if 0 <= part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            shown.append(f"[{part}]")
        elif is_last and isinstance(part, str) and not shown:
            shown.append(part)
    return line, _join(shown)


def _join(parts: list[str]) -> str:
    out = ""
    for part in parts:
        out += part if part.startswith("[") or not out else f".{part}"
    return out


def duplicate_keys(root: yaml.Node | None) -> list[tuple[int, str]]:
    """(line, path) of every mapping key that appears twice: PyYAML silently keeps the last."""
    found: list[tuple[int, str]] = []

    def walk(node: yaml.Node, path: list[str]) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                name = str(getattr(key, "value", "?"))
                if name in seen:
                    found.append((key.start_mark.line + 1, _join([*path, name])))
                seen.add(name)
                walk(value, [*path, name])
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, [*path, f"[{index}]"])

    if root is not None:
        walk(root, [])
    return found

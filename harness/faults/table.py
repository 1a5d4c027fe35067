"""The README's fault table, generated from one source: attributes, units and defaults from the
pydantic specs' model_fields, "what a client sees" from each unit's `client_sees`."""

from __future__ import annotations

import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BeforeValidator
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from harness.faults.registry import FAULTS
from harness.scenario.fault_spec import Target
from harness.units import format_duration, parse_duration

COMMON = ("at", "duration", "rate", "target")  # every fault has them (replication: no target)


def fault_table() -> list[dict[str, Any]]:
    """One row per fault, in registry order."""
    rows = []
    for name, unit in FAULTS.items():
        spec = unit.spec_type
        attributes = []
        for field_name, info in spec.model_fields.items():
            if field_name == "fault":
                continue
            kind = _kind(info.annotation, info.metadata)
            attributes.append(
                {
                    "name": field_name,
                    "unit": kind,
                    "default": _default(info, kind),
                    "required": info.is_required(),
                    "common": field_name in COMMON,
                    "description": info.description or unit.attribute_docs.get(field_name, ""),
                }
            )
        doc = (spec.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        rows.append(
            {
                "fault": name,
                "summary": doc,
                "client_sees": unit.client_sees,
                "attributes": attributes,
            }
        )
    return rows


def fault_table_markdown() -> str:
    """The table as Markdown: fault | its own attributes (defaults) | what a client sees."""
    lines = [
        "Every fault takes `at` and `duration` (durations such as 250ms, 90s, 2m; default "
        "duration: until the end of the run), `rate` (0-1, default 1: the probability per "
        "query, request or connection; for one-shot faults — endpoint.drain, replication.pause, "
        "dns.automation_race — the probability that the fault happens at all) and a `target` "
        "(a region, or {region, endpoints, az}); replication.pause takes source/destination.",
        "",
        "| fault | attributes (default) | what a client sees |",
        "|---|---|---|",
    ]
    for row in fault_table():
        own = [
            f"`{a['name']}` {a['unit']} ({a['default']})"
            for a in row["attributes"]
            if not a["common"]
        ]
        lines.append(f"| `{row['fault']}` | {', '.join(own) or '—'} | {row['client_sees']} |")
    return "\n".join(lines) + "\n"


def _kind(annotation: Any, metadata: list[Any]) -> str:
    if any(isinstance(m, BeforeValidator) and m.func is parse_duration for m in metadata):
        return "duration"
    origin = get_origin(annotation)
    if origin is Annotated:
        inner, *extra = get_args(annotation)
        return _kind(inner, [*metadata, *extra])
    if origin in (Union, types.UnionType):
        return " | ".join(_kind(a, metadata) for a in get_args(annotation) if a is not type(None))
    if origin is Literal:
        return "one of " + ", ".join(str(a) for a in get_args(annotation))
    if annotation is Target:
        return "region | {region, endpoints, az}"
    if annotation is float:
        bounded = {type(m).__name__ for m in metadata} >= {"Ge", "Le"}
        return "0-1" if bounded else "number"
    if annotation is int:
        return "integer"
    if annotation is str:
        return (
            "name" if any(isinstance(m, FieldInfo) and m.metadata for m in metadata) else "string"
        )
    return getattr(annotation, "__name__", str(annotation))


def _default(info: FieldInfo, kind: str) -> str:
    if info.is_required():
        return "required"
    value = info.default
    if value is None or value is PydanticUndefined:
        return "none"
    if kind == "duration" and isinstance(value, int | float):
        return format_duration(float(value))
    return str(value)

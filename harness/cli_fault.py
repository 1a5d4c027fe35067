"""`harness fault apply|revert|list|journal|catalog|timeline --control URL`: drive a running
`harness world --control` from the shell. Exit 0 ok · 1 the world is unreachable (or stopping) ·
2 bad input (a flag, or a fault the world refuses: one line each, naming the flag)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any, NoReturn

import typer
import yaml

from harness.control.client import TOKEN_ENV, ControlClient, ControlError, ControlUnreachable
from harness.errors import HarnessError

CONTROL_ENV = "HARNESS_CONTROL"
EXIT_UNREACHABLE = 1
EXIT_INVALID = 2

fault_app = typer.Typer(
    name="fault",
    help="Apply, revert and list faults on a running `harness world --control`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

Control = Annotated[
    str,
    typer.Option(
        "--control",
        envvar=CONTROL_ENV,
        show_envvar=True,
        help="The world's control API (the `control` URL `harness world` prints).",
    ),
]
Token = Annotated[
    str | None,
    typer.Option(envvar=TOKEN_ENV, show_envvar=True, help="Bearer token, if the world wants one."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print the API's JSON instead of a line.")]

# A field of the fault entry -> the flag that sets it (anything else came from --set NAME=...).
_FLAGS = {
    "fault": "FAULT",
    "target": "--target",
    "target.region": "--target",
    "target.endpoints": "--endpoints",
    "target.az": "--az",
    "at": "--at",
    "duration": "--duration",
    "rate": "--rate",
}


def _client(control: str, token: str | None) -> ControlClient:
    return ControlClient(control, token=token)


def _die(command: str, error: HarnessError) -> NoReturn:
    if isinstance(error, ControlUnreachable):
        print(f"harness fault {command}: {error}", file=sys.stderr)
        raise typer.Exit(EXIT_UNREACHABLE)
    if isinstance(error, ControlError):
        if error.problems:
            for problem in error.problems:
                print(f"harness fault {command}: {_flag(problem)}", file=sys.stderr)
        else:
            print(f"harness fault {command}: {error}", file=sys.stderr)
        raise typer.Exit(EXIT_UNREACHABLE if error.status == 503 else EXIT_INVALID)
    print(f"harness fault {command}: {error}", file=sys.stderr)
    raise typer.Exit(EXIT_INVALID)


def _flag(problem: dict[str, Any]) -> str:
    field = str(problem.get("field") or "")
    base = field.split("[")[0]
    flag = _FLAGS.get(base) or _FLAGS.get(base.split(".")[0])
    if flag is None:
        flag = f"--set {base}" if base else "body"
    return f"{flag}: {problem.get('message', '')}"


def _settings(pairs: list[str]) -> dict[str, Any]:
    """--set NAME=VALUE (repeatable): values read as YAML scalars (503 is a number, 200ms text)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise HarnessError(f"--set: expected NAME=VALUE, got {pair!r}")
        if name in out:
            raise HarnessError(f"--set: {name} given twice")
        if name in ("fault", "target", "at", "duration", "rate"):
            flag = "FAULT" if name == "fault" else f"--{name}"
            raise HarnessError(f"--set {name}: use {flag} instead")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        out[name] = value if isinstance(value, str | int | float | bool) else raw
    return out


def _entry(
    fault: str,
    target: str | None,
    endpoints: str | None,
    az: str | None,
    at: str | None,
    duration: str | None,
    rate: float | None,
    settings: list[str],
) -> dict[str, Any]:
    entry: dict[str, Any] = {"fault": fault}
    if endpoints is not None or az is not None:
        if target is None:
            raise HarnessError("--endpoints/--az: name the region with --target too")
        where: dict[str, Any] = {"region": target}
        if endpoints is not None:
            try:
                where["endpoints"] = [int(e) for e in endpoints.split(",") if e.strip()]
            except ValueError:
                raise HarnessError(
                    f"--endpoints: expected indexes such as 0,2, got {endpoints!r}"
                ) from None
        if az is not None:
            where["az"] = az
        entry["target"] = where
    elif target is not None:
        entry["target"] = target
    for name, value in (("at", at), ("duration", duration), ("rate", rate)):
        if value is not None:
            entry[name] = value
    entry.update(_settings(settings))
    return entry


def _line(fault: dict[str, Any]) -> str:
    parts = [f"fault {fault['id']}: {fault['fault']} on {fault['target']} {fault['state']}"]
    if fault.get("applied_at") is not None:
        parts.append(f"at {fault['applied_at']:.3f}s")
    elif fault.get("due_at") is not None and fault["state"] == "scheduled":
        parts.append(f"due at {fault['due_at']:.3f}s")
    if fault.get("reverted_at") is not None:
        parts.append(f"reverted at {fault['reverted_at']:.3f}s ({fault.get('revert_reason')})")
    elif fault.get("reverts_at") is not None:
        parts.append(f"reverts at {fault['reverts_at']:.3f}s")
    if fault.get("error"):
        parts.append(f"error: {fault['error']}")
    return ", ".join(parts)


def _print(data: Any, as_json: bool, lines: list[str]) -> None:
    if as_json:
        print(json.dumps(data))
    else:
        for line in lines:
            print(line)


@fault_app.command()
def apply(
    fault: Annotated[str, typer.Argument(help="The fault, e.g. dns.nodata (see `catalog`).")],
    control: Control,
    target: Annotated[str | None, typer.Option(help="Region to break.")] = None,
    endpoints: Annotated[
        str | None, typer.Option(help="Only these endpoints of the region, e.g. 0,2.")
    ] = None,
    az: Annotated[str | None, typer.Option(help="Only the region's endpoints in this AZ.")] = None,
    at: Annotated[str | None, typer.Option(help="Start this long from now (default: now).")] = None,
    duration: Annotated[
        str | None, typer.Option(help="Revert after this long (default: when asked).")
    ] = None,
    rate: Annotated[float | None, typer.Option(help="Probability per query/request (0-1).")] = None,
    settings: Annotated[
        list[str] | None,
        typer.Option("--set", help="Another attribute of the fault, NAME=VALUE (repeatable)."),
    ] = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Apply a fault now, given as a timeline entry in shorthand:
    `harness fault apply dns.nodata --target us-east-1 --duration 60s`."""
    try:
        entry = _entry(fault, target, endpoints, az, at, duration, rate, settings or [])
        applied = _client(control, token).apply(entry)
    except HarnessError as exc:
        _die("apply", exc)
    _print(applied, as_json, [_line(applied)])


@fault_app.command()
def revert(
    control: Control,
    fault_id: Annotated[int | None, typer.Argument(help="The fault's id (see `list`).")] = None,
    all_faults: Annotated[bool, typer.Option("--all", help="Revert every fault.")] = False,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Revert one fault by id, or every fault with --all."""
    try:
        if (fault_id is None) == (not all_faults):
            raise HarnessError("give a fault id or --all (not both)")
        client = _client(control, token)
        if all_faults:
            reverted = client.revert_all()
            _print(reverted, as_json, [_line(f) for f in reverted] or ["nothing to revert"])
            return
        assert fault_id is not None
        one = client.revert(fault_id)
    except HarnessError as exc:
        _die("revert", exc)
    _print(one, as_json, [_line(one)])


@fault_app.command("list")
def list_faults(
    control: Control,
    all_faults: Annotated[bool, typer.Option("--all", help="Include reverted faults.")] = False,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """List the faults in place (and scheduled); --all adds the reverted ones."""
    try:
        faults = _client(control, token).faults(include_reverted=all_faults)
    except HarnessError as exc:
        _die("list", exc)
    _print(faults, as_json, [_line(f) for f in faults] or ["no faults"])


@fault_app.command()
def journal(control: Control, token: Token = None) -> None:
    """Print the journal (every apply and revert, with times) as JSON."""
    try:
        data = _client(control, token).journal()
    except HarnessError as exc:
        _die("journal", exc)
    print(json.dumps(data, indent=2))


@fault_app.command()
def catalog(control: Control, token: Token = None, as_json: AsJson = False) -> None:
    """The faults this world can take, with their own attributes and defaults."""
    try:
        rows = _client(control, token).catalog()
    except HarnessError as exc:
        _die("catalog", exc)
    lines = []
    for row in rows:
        own = [
            f"{a['name']}={a['default']} ({a['unit']})"
            for a in row["attributes"]
            if not a["common"]
        ]
        lines.append(f"{row['fault']}: {', '.join(own) or '-'}")
    _print(rows, as_json, lines)


@fault_app.command()
def timeline(control: Control, token: Token = None, as_json: AsJson = False) -> None:
    """Run the world's scenario timeline from now (each entry on its schedule)."""
    try:
        faults = _client(control, token).run_timeline()
    except HarnessError as exc:
        _die("timeline", exc)
    _print(faults, as_json, [_line(f) for f in faults])

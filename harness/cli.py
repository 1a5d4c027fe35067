"""The `harness` command: parse, delegate, print. Bad input is one line per problem and exit 2."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn, cast

import typer
from rich.console import Console

from harness.errors import HarnessError, ScenarioError
from harness.units import parse_duration

app = typer.Typer(
    name="harness",
    help="Rehearse a regional DNS outage on loopback and compare client resilience strategies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Piped output keeps wide tables on one line per row (rich would wrap at 80 columns), unless
# COLUMNS says how wide the reader is.
_PIPED = None if os.environ.get("COLUMNS", "").isdigit() else 220
out = Console(width=None if sys.stdout.isatty() else _PIPED)
err = Console(stderr=True, width=None if sys.stderr.isatty() else _PIPED)

EXIT_INVALID = 2
DURATION_HELP = (
    "Run for this long, e.g. 30s. The phases and fault timeline are scaled to fit (starts, "
    "durations, flap periods, automation stalls: new/old duration); TTLs, latencies, deadlines "
    "and rates are not."
)

from harness.cli_fault import fault_app  # noqa: E402  (the `harness fault ...` commands)

app.add_typer(fault_app, name="fault")


EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug in the harness, not in the user's input


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        code = app(standalone_mode=False)
    except KeyboardInterrupt:
        sys.exit(130)
    except BaseExceptionGroup as group:  # from a TaskGroup: report its first real error
        leaf = _first_leaf(group)
        if isinstance(leaf, HarnessError):
            print(f"error: {leaf}", file=sys.stderr)
            sys.exit(EXIT_INVALID)
        _internal_error(leaf)
    except Exception as exc:
        if _is_usage_error(exc):  # one line, like every other input error
            ctx = getattr(exc, "ctx", None)
            command = ctx.command_path if ctx is not None else "harness"
            print(f"{command}: {exc.format_message()} (see --help)", file=sys.stderr)  # type: ignore[attr-defined]
            sys.exit(getattr(exc, "exit_code", EXIT_INVALID))
        if type(exc).__name__ == "Abort":  # Ctrl-C inside a prompt
            sys.exit(130)
        _internal_error(exc)
    sys.exit(code if isinstance(code, int) else 0)


def _is_usage_error(exc: BaseException) -> bool:
    """A command-line usage error from click (which typer vendors privately in recent releases,
    so we recognise it by its interface rather than import a private module)."""
    return hasattr(exc, "format_message") and hasattr(exc, "exit_code")


def _first_leaf(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


def _internal_error(exc: BaseException) -> NoReturn:
    """A bug: say so in one line; the traceback on request."""
    if os.environ.get("HARNESS_DEBUG"):
        raise exc
    print(
        f"internal error: {type(exc).__name__}: {exc} "
        "(a bug in the harness; HARNESS_DEBUG=1 shows the traceback)",
        file=sys.stderr,
    )
    sys.exit(EXIT_INTERNAL)


def _fail(error: HarnessError) -> NoReturn:
    # Plain print: one problem is one line, whatever the terminal width (rich would wrap).
    if isinstance(error, ScenarioError):
        for problem in error.problems:
            print(problem, file=sys.stderr)
    else:
        print(f"error: {error}", file=sys.stderr)
    raise typer.Exit(EXIT_INVALID)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        from harness import __version__

        try:
            installed = version("dns-outage-harness")
        except PackageNotFoundError:  # running from a source tree that was never installed
            installed = __version__
        print(f"harness {installed} (Python {sys.version.split()[0]})")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", is_eager=True, callback=_print_version
        ),
    ] = False,
) -> None:
    """Rehearse a regional DNS outage on loopback and compare client resilience strategies."""


def _known_strategies() -> tuple[str, ...]:
    from harness.client import catalog

    return catalog.names()


def _load(path: Path, overrides: dict[str, Any] | None = None) -> Any:
    from harness.errors import Problem
    from harness.scenario import load_scenario

    try:
        return load_scenario(path, known_strategies=_known_strategies(), overrides=overrides)
    except ScenarioError as exc:
        if not overrides:
            raise
        # the file may be fine on its own: say which command-line override made it invalid
        given = ", ".join(_flag(key, value) for key, value in overrides.items())
        raise ScenarioError(
            [Problem(p.file, p.line, p.field, f"{p.message} (with {given})") for p in exc.problems]
        ) from None


def _flag(key: str, value: Any) -> str:
    """An override as the command-line flag that gave it."""
    if key == "duration":
        return f"--duration {value:g}s"
    if key == "clients":
        return f"--hosts {value['hosts']}"
    return f"--{key} {value}"


def _overrides(seed: int | None, duration: str | None, hosts: int | None = None) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    if hosts is not None:
        overrides["clients"] = {"hosts": hosts}
    if seed is not None:
        overrides["seed"] = seed
    if duration is not None:
        try:
            overrides["duration"] = parse_duration(duration)
        except ValueError as exc:
            raise HarnessError(f"--duration: {exc}") from None
    return overrides


def _metrics_addr(value: str) -> tuple[tuple[str, int] | None, bool]:
    """'off' | HOST:PORT. Returns (address, explicitly non-loopback allowed)."""
    if value.lower() in ("off", "none", ""):
        return None, False
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise HarnessError(f"--metrics-addr: expected HOST:PORT or 'off', got {value!r}")
    host = host.strip("[]")
    if not 0 <= int(port) <= 65535:
        raise HarnessError(f"--metrics-addr: port {port} is not in 0..65535")
    return (host, int(port)), True


ExecutorOption = Annotated[
    str | None,
    typer.Option(
        help="Where units of work run under the virtual clock: local (worker processes, the "
        "default), inline (this process) or dask (--cluster).",
    ),
]
WorkersOption = Annotated[
    int | None,
    typer.Option(min=1, max=4096, help="Worker processes for --executor local (default: cores)."),
]
ClusterOption = Annotated[
    str | None,
    typer.Option(
        help="A Dask scheduler, tcp://HOST:PORT (implies --executor dask; env "
        "HARNESS_DASK_SCHEDULER).",
    ),
]


def _execution(
    executor: str | None, workers: int | None, cluster: str | None, overrides: dict[str, Any]
) -> Any:
    from harness.executors import CLUSTER_ENV, ExecutorKind
    from harness.executors.plan import Execution

    auto = executor is None and workers is None and cluster is None
    if executor is None:
        executor = "dask" if cluster or os.environ.get(CLUSTER_ENV) else "local"
        auto = auto and executor == "local"
    if executor not in ("inline", "local", "dask"):
        raise HarnessError(f"--executor: expected inline, local or dask, got {executor!r}")
    if cluster is not None and executor != "dask":
        raise HarnessError(f"--cluster: only with --executor dask (not {executor})")
    if workers is not None and executor != "local":
        raise HarnessError(f"--workers: only with --executor local (not {executor})")
    rest = {k: v for k, v in overrides.items() if k != "seed"}  # each unit gets its own seed
    kind = cast(ExecutorKind, executor)
    return Execution(kind=kind, workers=workers, cluster=cluster, overrides=rest, auto=auto)


@app.command()
def validate(files: Annotated[list[Path], typer.Argument(help="Scenario files to check.")]) -> None:
    """Check scenario files; print one line per problem (FILE:LINE: field: message)."""
    from harness.scenario import load_scenario

    known = _known_strategies()
    bad = 0
    for path in files:
        try:
            _check_factories(path, load_scenario(path, known_strategies=known))
            out.print(f"{path}: ok", highlight=False)
        except ScenarioError as exc:
            bad += 1
            for problem in exc.problems:
                print(problem, file=sys.stderr)
    if bad:
        raise typer.Exit(EXIT_INVALID)


def _check_factories(path: Path, scenario: Any) -> None:
    """A `factory:` strategy's module is imported (its top-level code runs, as in a run) and the
    factory checked, but never called: a problem is reported like any other in the file."""
    from harness.client.factory import check_factory
    from harness.errors import Problem, StrategyError
    from harness.scenario.loader import problem_at
    from harness.scenario.strategy_spec import FactoryStrategy

    problems: list[Problem] = []
    refs = () if scenario.strategies == "all" else scenario.strategies
    for index, ref in enumerate(refs):
        if isinstance(ref, FactoryStrategy):
            try:
                check_factory(ref)
            except StrategyError as exc:
                problems.append(problem_at(path, ("strategies", index, "factory"), str(exc)))
    if problems:
        raise ScenarioError(problems)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the scenario format (for editors' YAML support)."""
    from harness.scenario.model import json_schema

    print(json.dumps(json_schema(), indent=2))


@app.command()
def strategies() -> None:
    """List the named strategies with a one-line description each."""
    from rich.table import Table

    from harness.client import catalog

    table = Table(show_lines=False)
    table.add_column("strategy", style="bold")
    table.add_column("what it does")
    table.add_column("defaults from", style="dim")
    for name, description, source in catalog.describe():
        table.add_row(name, description, source)
    out.print(table)


@app.command()
def world(
    scenario: Annotated[Path, typer.Argument(help="Scenario file.")],
    control: Annotated[
        str | None,
        typer.Option(help="Serve the control API here (loopback HOST:PORT; port 0: any free)."),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="HARNESS_CONTROL_TOKEN",
            show_envvar=True,
            help="Require this bearer token on the control API (for shared machines).",
        ),
    ] = None,
    metrics_addr: Annotated[
        str,
        typer.Option(help="Also serve /metrics here (HOST:PORT), or 'off'."),
    ] = "off",
    journal: Annotated[
        Path | None, typer.Option(help="Write the fault journal (JSON) here when the world stops.")
    ] = None,
) -> None:
    """Start the DNS server and every region; print where they are as one JSON line; serve until
    SIGINT/SIGTERM (or a control-API shutdown). With --control, faults can be applied and
    reverted from outside (`harness fault`); the world's metrics are at the control URL's
    /metrics."""
    from harness.cli_world import WorldOptions, serve_world
    from harness.control.client import parse_control_url

    try:
        loaded = _load(scenario)
        addr, explicit = _metrics_addr(metrics_addr)
        options = WorldOptions(
            control=parse_control_url(control) if control is not None else None,
            token=token or None,
            metrics=addr,
            allow_non_loopback_metrics=explicit,
            journal=journal,
        )
        if options.token is not None and options.control is None:
            raise HarnessError("--token: only meaningful with --control")
        serve_world(loaded, options)
    except HarnessError as exc:
        _fail(exc)


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario file.")],
    strategy: Annotated[
        list[str] | None, typer.Option("--strategy", "-s", help="Strategy to run (repeatable).")
    ] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Results directory.")] = None,
    seed: Annotated[int | None, typer.Option(help="Override the scenario's seed.")] = None,
    duration: Annotated[str | None, typer.Option(help=DURATION_HELP)] = None,
    hosts: Annotated[
        int | None,
        typer.Option(help="Override clients.hosts: simulated client hosts per strategy."),
    ] = None,
    clock: Annotated[
        str | None, typer.Option(help="virtual (fast, deterministic) or real (watch live).")
    ] = None,
    metrics_addr: Annotated[
        str, typer.Option(help="Serve /metrics here (HOST:PORT), or 'off'.")
    ] = "127.0.0.1:9464",
    progress: Annotated[bool, typer.Option(help="Show a live progress bar.")] = True,
    executor: ExecutorOption = None,
    workers: WorkersOption = None,
    cluster: ClusterOption = None,
) -> None:
    """Run a scenario: world, one client pool per strategy, faults; write results to DIR."""
    from harness.cli_run import Invocation, execute_run

    try:
        overrides = _overrides(seed, duration, hosts)
        loaded = _load(scenario, overrides)
        addr, explicit = _metrics_addr(metrics_addr)
        invocation = Invocation(
            loaded, scenario, out_dir, clock, addr, explicit, progress, out, err,
            _execution(executor, workers, cluster, overrides),
        )  # fmt: skip
        code = execute_run(invocation, strategy)
    except HarnessError as exc:
        _fail(exc)
    raise typer.Exit(code)


@app.command()
def compare(
    scenario: Annotated[Path, typer.Argument(help="Scenario file.")],
    strategies: Annotated[
        str, typer.Option("--strategies", help="Comma-separated names, or 'all'.")
    ] = "",
    repeat: Annotated[
        int | None,
        typer.Option(
            min=1, max=50, help="Seeds per strategy (default: the scenario's run.repeats)."
        ),
    ] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Comparison directory.")] = None,
    baseline: Annotated[str | None, typer.Option(help="Baseline strategy for ratios.")] = None,
    seed: Annotated[int | None, typer.Option(help="First seed (default: the scenario's).")] = None,
    duration: Annotated[str | None, typer.Option(help=DURATION_HELP)] = None,
    hosts: Annotated[
        int | None,
        typer.Option(help="Override clients.hosts: simulated client hosts per strategy."),
    ] = None,
    clock: Annotated[str | None, typer.Option(help="virtual or real.")] = None,
    metrics_addr: Annotated[
        str, typer.Option(help="Serve /metrics here (HOST:PORT), or 'off'.")
    ] = "off",
    progress: Annotated[bool, typer.Option(help="Show a live progress bar.")] = True,
    executor: ExecutorOption = None,
    workers: WorkersOption = None,
    cluster: ClusterOption = None,
    output_format: Annotated[
        str,
        typer.Option("--format", help="stdout: table (fitted to the terminal), md, csv or json."),
    ] = "table",
) -> None:
    """Run every strategy under one scenario, seed and fault timeline; write scoreboard + report."""
    from harness.cli_run import Invocation, execute_compare
    from harness.report.present import check_format

    try:
        check_format(output_format)
        overrides = _overrides(seed, duration, hosts)
        loaded = _load(scenario, overrides)
        addr, explicit = _metrics_addr(metrics_addr)
        names = [s.strip() for s in strategies.split(",") if s.strip()] if strategies else []
        invocation = Invocation(
            loaded, scenario, out_dir, clock, addr, explicit, progress, out, err,
            _execution(executor, workers, cluster, overrides),
        )  # fmt: skip
        code = execute_compare(
            invocation, names, repeat or loaded.run.repeats, baseline, output_format
        )
    except HarnessError as exc:
        _fail(exc)
    raise typer.Exit(code)


@app.command()
def report(
    directory: Annotated[Path, typer.Argument(help="A comparison or run directory.")],
    output_format: Annotated[
        str,
        typer.Option("--format", help="stdout: table (fitted to the terminal), md, csv or json."),
    ] = "table",
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=4096,
            help="Processes that read repeats and draw charts side by side (default: cores).",
        ),
    ] = None,
) -> None:
    """Re-render comparison.{json,md,csv} and report.html from saved results (runs nothing), and
    print the scoreboard. Works on a `compare` directory and on a single `run` directory."""
    from harness.compare import load_comparison
    from harness.executors.local import usable_cores
    from harness.report import render_report
    from harness.report.present import check_format, present

    try:
        check_format(output_format)
        paths = render_report(directory, workers=workers or usable_cores())
        present(load_comparison(directory), paths, out, err, output_format)
    except HarnessError as exc:
        _fail(exc)


@app.command()
def observe(
    target: Annotated[
        str, typer.Option(help="Where the harness serves /metrics.")
    ] = "127.0.0.1:9464",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Prometheus port (0: a free one).")
    ] = 9090,
) -> None:
    """Start a local Prometheus (found on PATH) scraping a harness run; say where Grafana goes."""
    from harness.cli_observe import serve_prometheus

    try:
        _metrics_addr(target)  # same HOST:PORT checks as --metrics-addr
        serve_prometheus(target, port, out)
    except HarnessError as exc:
        _fail(exc)


def default_out(kind: str, name: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{name}-{kind}-{stamp}" if kind else Path("runs") / f"{name}-{stamp}"

"""The operators' command line, a contract for operators and test harnesses (docs/architecture.md,
"Command line"):

    python -m ops plan [--environment ENV] [--date YYYY-MM-DD] [--json]
    python -m ops run --date YYYY-MM-DD [--environment ENV] [--dry-run] [--json]
    python -m ops history [--environment ENV] [--limit N] [--json]
    python -m ops status [--now INSTANT] [--json]
    python -m ops report --html FILE [--days N] [--now INSTANT]
    python -m ops demo [--week-of YYYY-MM-DD] [--json]
    python -m ops emulator [--port N] [--fleet FILE]
    python -m ops bench [...] [--json]

Exit codes: 0 succeeded/skipped/nothing-to-do/planned, 1 failed, 2 bad settings or usage. A run
refused for bad settings or usage contacts nothing (no ARM request, no version-store request).

Every ordinary mistake (bad flags or settings, a store that cannot be reached, no Azure sign-in,
a port in use, an unreadable fleet file) is one line on stderr and exit 2, never a traceback.
With ``--json`` the last line on stdout is the JSON document and nothing else is printed after
it; without it, people get rich tables (colour only on a terminal and never under NO_COLOR).
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from shared import settings as settings_mod
from shared.domain import dates, numbers
from shared.domain.text import first_line, shown
from shared.errors import ConfigError, StoreError, StoreUnavailableError, TransientError, UsageError

if TYPE_CHECKING:
    from shared import runtime

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        """A usage error is one line on stderr and exit 2 (argparse's default adds the usage block)."""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _date_flag(text: str) -> date:
    """A date flag: the one strict date reader (exactly YYYY-MM-DD, a real date)."""
    try:
        return dates.parse_date(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _whole_number_flag(low: int, high: int) -> Callable[[str], int]:
    """A whole-number flag in plain ASCII digits within low..high (int() also takes "5_0" and "٥")."""

    def parse(text: str) -> int:
        try:
            value = numbers.parse_whole_number(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    return parse


def _decimal_flag(text: str) -> float:
    """A non-negative decimal flag in plain ASCII digits (float() also takes "nan", "1e3", "٥")."""
    try:
        return numbers.parse_decimal(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _number_list_flag(text: str) -> str:
    """A comma-separated list of whole numbers >= 1, kept as written for the command to split."""
    parse = _whole_number_flag(1, 10_000)
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a comma-separated list of whole numbers")
    for item in items:
        parse(item)
    return text


def _existing_file_flag(text: str) -> str:
    if not os.path.isfile(text):
        raise argparse.ArgumentTypeError(f"no such file: {shown(text)}")
    return text


def _fleet_file_flag(text: str) -> str:
    """A fleet file the emulator can read: checked here, so a bad one is a usage error, not a traceback."""
    from ops.emulator import fleet as fleet_mod

    _existing_file_flag(text)
    try:
        fleet_mod.load_fleet(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise argparse.ArgumentTypeError(f"cannot read {shown(text)}: {exc}") from None
    except ValueError as exc:  # json.JSONDecodeError too
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a fleet file: {first_line(str(exc))}") from None
    except (KeyError, TypeError, AttributeError) as exc:
        what = f"missing key {exc}" if isinstance(exc, KeyError) else first_line(str(exc))
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a fleet file ({what}); see ops/emulator/fleet.py") from None
    return text


def _instant_flag(text: str) -> datetime:
    """An ISO 8601 instant with its offset, e.g. 2026-12-01T09:00:00Z: the one strict reader."""
    try:
        return dates.parse_utc_instant(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m ops", description="AKS upgrade conductor: operator commands")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")
    json_help = "print one JSON document as the last line instead of tables"
    environment_help = "one environment of ROLLOUT_PLAN (default: the wave of the date)"

    plan = sub.add_parser("plan", help="read-only: what would be upgraded, from what, to what, and why not")
    plan.add_argument("--environment", help=environment_help)
    plan.add_argument("--date", help="YYYY-MM-DD (default: today in the plan's time zone)")
    plan.add_argument("--json", action="store_true", help=json_help)

    run = sub.add_parser("run", help="run one UpgradeOrchestrator instance to completion in-process")
    run.add_argument("--date", required=True, help="YYYY-MM-DD: the run's date; its clock starts at UPGRADE_SCHEDULE's time that day")
    run.add_argument("--environment", help=environment_help)
    run.add_argument("--dry-run", action="store_true", help="plan and report, change nothing (also DRY_RUN=true)")
    run.add_argument("--json", action="store_true", help=json_help)
    decision = run.add_mutually_exclusive_group()
    decision.add_argument(
        "--approve", action="store_true", help="approve at once, for an environment in APPROVAL_ENVIRONMENTS (without it: timed out)"
    )
    decision.add_argument("--reject", action="store_true", help="reject at once, for an environment in APPROVAL_ENVIRONMENTS")
    run.add_argument("--by", help="who decides (with --approve/--reject; default: $USER)")
    run.add_argument("--comment", default="", help="why (with --approve/--reject)")

    history = sub.add_parser("history", help="audit history: one row per cluster upgrade attempt")
    history.add_argument("--environment", help="only this environment (default: all)")
    history.add_argument("--limit", type=_whole_number_flag(1, 10_000), default=50, help="rows to show, 1..10000 (default 50)")
    history.add_argument("--json", action="store_true", help=json_help)

    now_help = "look from this instant instead of the clock, as YYYY-MM-DDTHH:MM:SS with Z or an offset"
    status = sub.add_parser("status", help="the week at a glance: records, soak, last runs, the next firing")
    status.add_argument("--now", type=_instant_flag, help=now_help)
    status.add_argument("--json", action="store_true", help=json_help)

    report = sub.add_parser("report", help="write the status view and a timeline of recent runs as one HTML page")
    report.add_argument("--html", required=True, metavar="FILE", help="the page to write (self-contained: no external resources)")
    report.add_argument("--days", type=_whole_number_flag(1, 366), default=14, help="days of runs in the timeline, 1..366 (default 14)")
    report.add_argument("--now", type=_instant_flag, help=now_help)

    demo = sub.add_parser("demo", help="start the ARM emulator and Azurite and run a whole week (Mon..Thu)")
    demo.add_argument("--week-of", type=_date_flag, help="YYYY-MM-DD, a date in the week to run (default: the coming Monday)")
    demo.add_argument("--json", action="store_true", help="also print the week's results and records as one JSON last line")

    emulator = sub.add_parser("emulator", help="the local ARM emulator on https://127.0.0.1")
    emulator.add_argument("--port", type=_whole_number_flag(0, 65_535), default=0, help="port to listen on (default 0: a free one)")
    emulator.add_argument("--fleet", type=_fleet_file_flag, help="fleet file (JSON, see ops/emulator/fleet.py; default: the sample fleet)")

    bench = sub.add_parser("bench", help="discovery/planning and upgrade benchmark against the baseline")
    count = _whole_number_flag(1, 1_000_000)
    bench.add_argument(
        "--size",
        choices=("default", "large"),
        default="default",
        help="default: 20 subscriptions, 200 clusters; large: 50 subscriptions, 1,000 clusters in 4 locations, "
        "a 250-cluster environment (the flags below override either)",
    )
    bench.add_argument("--subscriptions", type=count, help="subscriptions in the fleet (default: the size's)")
    bench.add_argument("--resource-groups", type=count, help="resource groups per subscription (default: the size's)")
    bench.add_argument("--resources-per-group", type=count, help="other resources per resource group (default: the size's)")
    bench.add_argument("--clusters", type=count, help="AKS clusters in the fleet (default: the size's)")
    bench.add_argument("--locations", type=_whole_number_flag(1, 8), help="Azure regions the clusters spread over, 1..8")
    bench.add_argument("--latency-ms", type=_decimal_flag, help="the emulator's latency per discovery request, ms (default 20)")
    bench.add_argument("--operation-minutes", type=_decimal_flag, help="simulated minutes one cluster upgrade takes (default 10)")
    bench.add_argument("--parallel", type=_number_list_flag, help="MAX_PARALLEL_UPGRADES values to measure")
    bench.add_argument("--upgrade-clusters", type=count, help="clusters in the upgraded environment")
    bench.add_argument(
        "--max-replay-rounds",
        type=_whole_number_flag(0, 1_000_000),
        help="cap on poll rounds per upgrade run (replay cost grows with the square); 0 = no cap",
    )
    bench.add_argument("--no-throttling", action="store_true", help="the emulator enforces no ARM or AKS throttle")
    bench.add_argument("--no-memory", action="store_true", help="skip the traced runs that measure peak heap")
    bench.add_argument("--plot", metavar="DIR", help="also measure growth with fleet size and write SVG charts into DIR")
    bench.add_argument("--json", action="store_true", help=json_help)
    return parser


class SignInError(Exception):
    """No Azure token: one line that says how to sign in (exit 2, nothing else contacted)."""


def _configure_logging() -> None:
    """LOG_LEVEL (default WARNING) for the CLI's own log lines; a bad value is a usage error.

    azure-identity logs the whole credential chain at WARNING when no credential works; the CLI
    says the same in one line (:class:`SignInError`), so that logger speaks only from ERROR up
    unless LOG_LEVEL asks for more.
    """
    level = os.environ.get("LOG_LEVEL", "").strip().upper() or "WARNING"
    if not isinstance(logging.getLevelName(level), int):
        raise UsageError(f"LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got {shown(level)}", "LOG_LEVEL")
    logging.basicConfig(level=level, format="%(levelname)s %(message)s")
    if "LOG_LEVEL" not in os.environ:
        logging.getLogger("azure.identity").setLevel(logging.ERROR)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        _configure_logging()
    except UsageError as exc:
        print(f"usage error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    args = build_parser().parse_args(argv)
    try:
        handler = _COMMANDS[args.command]
        return int(handler(args))
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)  # already "invalid settings (N): NAME: why; ..."
        return EXIT_USAGE
    except UsageError as exc:
        print(f"usage error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SignInError as exc:
        print(f"not signed in to Azure: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StoreUnavailableError as exc:
        hint = "check VERSION_STORE_ENDPOINT or VERSION_STORE_CONNECTION (locally: is Azurite running?)"
        print(f"error: {first_line(str(exc))}; {hint}", file=sys.stderr)
        return EXIT_USAGE
    except (TransientError, StoreError) as exc:  # ARM unreachable, or the store refusing or unreadable
        print(f"error: {first_line(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _print_json(payload: Any) -> None:
    print(json.dumps(payload, sort_keys=False))


def _today(settings: settings_mod.Settings) -> date:
    return datetime.now(ZoneInfo(settings.rollout_plan.timezone)).date()


#: The token scope of Table Storage (the version store and the history behind VERSION_STORE_ENDPOINT).
STORAGE_SCOPE = "https://storage.azure.com/.default"


def _services(settings: settings_mod.Settings, *, arm: bool) -> runtime.Services:
    """The services, after making sure their credential can get the tokens the command needs.

    Without a token every ARM and table call would fail one by one, each with the credential
    chain's dump; asking once up front turns that into one line that says how to sign in.
    Connection strings (Azurite) and the emulator's static token need no sign-in.
    """
    from shared import runtime
    from shared.adapters import credentials

    services = runtime.build(settings)
    if settings.credential_kind == "emulator":
        return services
    scopes = [f"{settings.arm_endpoint}/.default"] if arm else []
    if settings.version_store_endpoint:
        scopes.append(STORAGE_SCOPE)
    for scope in scopes:
        problem = credentials.sign_in_problem(services.credential, scope)
        if problem is not None:
            raise SignInError(problem)
    return services


def cmd_run(args: argparse.Namespace) -> int:
    from ops import console, report, runner

    settings = settings_mod.load()
    day = runner.parse_day(args.date)
    runner.check_environment(settings, args.environment)
    approval = _decision(args)
    services = None
    if (args.dry_run or settings.dry_run) and not settings_mod.is_loopback_url(settings.arm_endpoint):
        # A dry run against real Azure (the only run ops allows there): sign-in first, in one line.
        services = _services(settings, arm=True)
    with console.steps(f"running {args.environment or 'the wave'} for {day}", None):
        outcome = runner.execute(settings, day, args.environment, dry_run=args.dry_run, services=services, approval=approval)
    if not args.json:
        console.console().print(report.run_view(outcome.result))
    else:
        _print_json(outcome.result)
    return exit_code(outcome.result["status"])


def exit_code(status: str) -> int:
    """A run's exit code: 1 when it failed or a person stopped it, else 0."""
    return EXIT_FAILED if status in ("failed", "stopped") else EXIT_OK


def _decision(args: argparse.Namespace) -> Any:
    """The approval decision ``ops run --approve/--reject`` gives, checked like an HTTP body."""
    from shared.domain import approvals

    if not (args.approve or args.reject):
        if args.by or args.comment:
            raise UsageError("--by and --comment go with --approve or --reject", "by")
        return None
    body = {"decision": "approve" if args.approve else "reject", "by": args.by or os.environ.get("USER") or "ops", "comment": args.comment}
    try:
        return approvals.read_decision(body)
    except approvals.BadDecisionError as exc:
        raise UsageError(str(exc), exc.field) from None


def cmd_plan(args: argparse.Namespace) -> int:
    from ops import console, report, runner
    from shared import runtime
    from shared.activities import planning, preflight
    from shared.activity_messages import LeadPlanRequest, planning_request
    from shared.domain import gates

    settings = settings_mod.load()
    day = runner.parse_day(args.date) if args.date else _today(settings)
    runner.check_environment(settings, args.environment)
    # The run's own gate, so that a plan never says "ready" for a run that would be skipped; the
    # run for D works on D (its clock starts on D), so D is also the work day.
    gate = gates.decide(
        settings.rollout_plan,
        requested=day,
        work_day=day,
        environment=args.environment,
        freeze_windows=settings.freeze_windows,
        dry_run=settings.dry_run,
    )
    chosen = gate.wave
    if not gate.may_act or chosen.environment is None:
        payload: dict[str, Any] = {
            "date": day.isoformat(),
            "environment": chosen.environment,
            "role": chosen.role,
            "status": gate.status,
            "reason": gate.reason,
            "targetVersion": None,
            "clusters": [],
        }
    else:
        runtime.install(_services(settings, arm=True))
        request = planning_request(settings.rollout_plan, chosen, settings.min_soak_hours, runner.start_clock(settings, day))
        with console.steps(f"planning {chosen.environment} for {day}", None):
            if isinstance(request, LeadPlanRequest):
                plan = planning.plan_lead_environment(request)
            else:
                plan = planning.plan_follower_environment(request)
            plan = preflight.with_maintenance_findings(plan, request.clock)
        payload = {"date": day.isoformat(), **plan.to_dict()}
    # Waves the timer (UPGRADE_SCHEDULE, read as UTC in Azure) never reaches: a warning, not an error.
    payload["warnings"] = list(settings.schedule_warnings)
    if args.json:
        _print_json(payload)
    else:
        out = console.console()
        for warning in settings.schedule_warnings:
            out.print(f"warning: {warning}")
        out.print(f"plan for {day}:")
        out.print(report.plan_view(payload))
    return EXIT_FAILED if payload.get("status") == "failed" else EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    from ops import console, report

    settings = settings_mod.load()
    if args.environment is not None and settings.rollout_plan.wave_of(args.environment) is None:
        raise UsageError(f"unknown environment {args.environment!r}", "environment")
    entries = _services(settings, arm=False).history.list(args.environment, limit=args.limit)
    if args.json:
        _print_json([report.history_row(e) for e in entries])
    else:
        console.console().print(report.history_view(entries))
    return EXIT_OK


def _week_status(args: argparse.Namespace) -> Any:
    from ops import console
    from ops import status as status_mod

    settings = settings_mod.load()
    services = _services(settings, arm=False)
    now = args.now or datetime.now(UTC)
    with console.steps("reading the version store and the history", None):
        return status_mod.gather(settings, services, now)


def cmd_status(args: argparse.Namespace) -> int:
    from ops import console
    from ops import status as status_mod

    week = _week_status(args)
    if args.json:
        _print_json(status_mod.to_dict(week))
    else:
        console.console().print(status_mod.view(week))
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from ops import html_report

    target = os.path.abspath(args.html)
    if os.path.isdir(target) or not os.path.isdir(os.path.dirname(target)):
        raise UsageError(f"--html {shown(args.html)}: not a file in an existing folder", "html")
    week = _week_status(args)
    try:
        with open(target, "w", encoding="utf-8") as page:
            page.write(html_report.render(week, args.days))
    except OSError as exc:
        raise UsageError(f"--html {shown(args.html)}: {exc.strerror or exc}", "html") from None
    print(f"wrote {args.html}")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from ops import demo

    return demo.run_week(args.week_of, as_json=args.json)


def cmd_emulator(args: argparse.Namespace) -> int:
    from ops.emulator import server

    try:
        server.serve(args.port, args.fleet)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(f"--port {args.port} is already in use; pick another port, or 0 for a free one", "port") from None
        if exc.errno == errno.EACCES:
            raise UsageError(f"--port {args.port} may not be opened by this user; pick one above 1023, or 0", "port") from None
        raise
    return EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    from ops import bench

    return bench.main(args)


_COMMANDS = {
    "run": cmd_run,
    "plan": cmd_plan,
    "history": cmd_history,
    "status": cmd_status,
    "report": cmd_report,
    "demo": cmd_demo,
    "emulator": cmd_emulator,
    "bench": cmd_bench,
}

"""The operators' command line, a contract for operators and test harnesses (docs/architecture.md,
"Command line"):

    python -m ops plan [--environment ENV] [--date YYYY-MM-DD] [--json]
    python -m ops run --date YYYY-MM-DD [--environment ENV] [--dry-run] [--json]
    python -m ops history [--environment ENV] [--limit N] [--json]
    python -m ops demo [--week-of YYYY-MM-DD] [--json]
    python -m ops emulator [--port N] [--fleet FILE]
    python -m ops bench [...] [--json]

Exit codes: 0 succeeded/skipped/nothing-to-do/planned, 1 failed, 2 bad settings or usage. A run
refused for bad settings or usage contacts nothing (no ARM request, no version-store request).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from shared import settings as settings_mod
from shared.domain import dates, numbers
from shared.domain.text import shown
from shared.errors import ConfigError, UsageError

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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m ops", description="AKS upgrade conductor: operator commands")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    plan = sub.add_parser("plan", help="read-only: what would be upgraded, from what, to what, and why not")
    plan.add_argument("--environment")
    plan.add_argument("--date", help="YYYY-MM-DD (default: today in the plan's time zone)")
    plan.add_argument("--json", action="store_true")

    run = sub.add_parser("run", help="run one UpgradeOrchestrator instance to completion in-process")
    run.add_argument("--date", required=True)
    run.add_argument("--environment")
    run.add_argument("--dry-run", action="store_true")
    run.add_argument("--json", action="store_true")
    decision = run.add_mutually_exclusive_group()
    decision.add_argument(
        "--approve", action="store_true", help="approve at once, for an environment in APPROVAL_ENVIRONMENTS (without it: timed out)"
    )
    decision.add_argument("--reject", action="store_true", help="reject at once, for an environment in APPROVAL_ENVIRONMENTS")
    run.add_argument("--by", help="who decides (with --approve/--reject; default: $USER)")
    run.add_argument("--comment", default="", help="why (with --approve/--reject)")

    history = sub.add_parser("history", help="audit history: one row per cluster upgrade attempt")
    history.add_argument("--environment")
    history.add_argument("--limit", type=_whole_number_flag(1, 10_000), default=50, help="rows to show, 1..10000")
    history.add_argument("--json", action="store_true")

    demo = sub.add_parser("demo", help="start the ARM emulator and Azurite and run a whole week (Mon..Thu)")
    demo.add_argument("--week-of", type=_date_flag, help="YYYY-MM-DD, a date in the week to run (default: the coming Monday)")
    demo.add_argument("--json", action="store_true", help="(the JSON summary is always the last line)")

    emulator = sub.add_parser("emulator", help="the local ARM emulator on https://127.0.0.1")
    emulator.add_argument("--port", type=_whole_number_flag(0, 65_535), default=0)
    emulator.add_argument("--fleet", type=_existing_file_flag)

    bench = sub.add_parser("bench", help="discovery/planning and upgrade benchmark against the baseline")
    count = _whole_number_flag(1, 1_000_000)
    bench.add_argument(
        "--size",
        choices=("default", "large"),
        default="default",
        help="default: 20 subscriptions, 200 clusters; large: 50 subscriptions, 1,000 clusters in 4 locations, "
        "a 250-cluster environment (the flags below override either)",
    )
    bench.add_argument("--subscriptions", type=count)
    bench.add_argument("--resource-groups", type=count)
    bench.add_argument("--resources-per-group", type=count)
    bench.add_argument("--clusters", type=count)
    bench.add_argument("--locations", type=_whole_number_flag(1, 8))
    bench.add_argument("--latency-ms", type=_decimal_flag)
    bench.add_argument("--operation-minutes", type=_decimal_flag)
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
    bench.add_argument("--json", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING"), format="%(levelname)s %(message)s")
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


def _print_json(payload: Any) -> None:
    print(json.dumps(payload, sort_keys=False))


def _today(settings: settings_mod.Settings) -> date:
    return datetime.now(ZoneInfo(settings.rollout_plan.timezone)).date()


def cmd_run(args: argparse.Namespace) -> int:
    from ops import report, runner

    settings = settings_mod.load()
    day = runner.parse_day(args.date)
    runner.check_environment(settings, args.environment)
    outcome = runner.execute(settings, day, args.environment, dry_run=args.dry_run, approval=_decision(args))
    if not args.json:
        print(report.run_summary(outcome.result))
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
    from ops import report, runner
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
        runtime.install(runtime.build(settings))
        request = planning_request(settings.rollout_plan, chosen, settings.min_soak_hours, runner.start_clock(settings, day))
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
        for warning in settings.schedule_warnings:
            print(f"warning: {warning}")
        print(f"plan for {day}:")
        print(report.plan_summary(payload))
    return EXIT_FAILED if payload.get("status") == "failed" else EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    from ops import report
    from shared import runtime

    settings = settings_mod.load()
    if args.environment is not None and settings.rollout_plan.wave_of(args.environment) is None:
        raise UsageError(f"unknown environment {args.environment!r}", "environment")
    entries = runtime.build(settings).history.list(args.environment, limit=args.limit)
    rows = [
        {
            "instanceId": e.instance_id,
            "runId": e.run_id,
            "environment": e.environment,
            "cluster": e.cluster_id,
            "from": e.from_version,
            "to": e.to_version,
            "result": e.result,
            "reason": e.reason,
            "startedAt": e.started_at.isoformat(),
            "finishedAt": e.finished_at.isoformat(),
        }
        for e in entries
    ]
    if args.json:
        _print_json(rows)
    else:
        print(
            report.table(
                [
                    (
                        e.finished_at.isoformat()[:16],
                        e.environment,
                        e.cluster_id.rsplit("/", 1)[-1],
                        e.from_version or "-",
                        e.to_version or "-",
                        e.result,
                        e.reason or "",
                    )
                    for e in entries
                ],
                ("finished", "environment", "cluster", "from", "to", "result", "reason"),
            )
        )
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from ops import demo

    return demo.run_week(args.week_of)


def cmd_emulator(args: argparse.Namespace) -> int:
    from ops.emulator import server

    server.serve(args.port, args.fleet)
    return EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    from ops import bench

    return bench.main(args)


_COMMANDS = {
    "run": cmd_run,
    "plan": cmd_plan,
    "history": cmd_history,
    "demo": cmd_demo,
    "emulator": cmd_emulator,
    "bench": cmd_bench,
}

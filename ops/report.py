"""Readable text for people: a run's clusters as a table, a plan, the history, a week.

``table`` and the ``*_summary`` functions give plain strings (the benchmark prints those); the
``*_view`` functions give rich renderables that ``ops/console.py`` prints in colour on a terminal
and as plain text elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from ops import console as console_mod
from shared.domain import outlook
from shared.domain.records import AuditEntry


def cluster_name(cluster_id: str) -> str:
    """The cluster's name: the last segment of its ARM id."""
    return cluster_id.rsplit("/", 1)[-1]


_name = cluster_name


def table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    cells = [list(header), *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run_summary(result: dict[str, Any]) -> str:
    head = (
        f"{result['date']}  {result.get('environment') or '-'} ({result['role']})  "
        f"status={result['status']}  target={result.get('targetVersion') or '-'}  "
        f"recorded={result.get('recordedVersion') or '-'}"
    )
    return _summary(head, result, "result")


def plan_summary(plan: dict[str, Any]) -> str:
    head = f"{plan.get('environment')} ({plan.get('role')})  status={plan.get('status')}  target={plan.get('targetVersion') or '-'}"
    return _summary(head, plan, "action")


def _summary(head: str, data: dict[str, Any], outcome_key: str) -> str:
    """Head line, the reason if any, then one row per cluster: from, to, ``outcome_key``, reason."""
    lines = [head]
    if data.get("reason"):
        lines.append(f"  reason: {data['reason']}")
    rows = [
        (_name(c["id"]), c.get("from") or "-", c.get("to") or "-", c[outcome_key], c.get("reason") or "") for c in data.get("clusters", [])
    ]
    if rows:
        lines.append(_indent(table(rows, ("cluster", "from", "to", outcome_key, "reason"))))
    return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


# -- rich views for the terminal (ops/console.py decides colour and width) --------------------


def run_view(result: dict[str, Any]) -> RenderableType:
    """A run result: the head line (status in its colour), the reason, one row per cluster."""
    head = Text.assemble(
        f"{result['date']}  {result.get('environment') or '-'} ({result['role']})  status=",
        console_mod.styled(result["status"]),
        f"  target={result.get('targetVersion') or '-'}  recorded={result.get('recordedVersion') or '-'}",
    )
    return _view(head, result, "result")


def plan_view(plan: dict[str, Any]) -> RenderableType:
    head = Text.assemble(
        f"{plan.get('environment')} ({plan.get('role')})  status=",
        console_mod.styled(plan.get("status")),
        f"  target={plan.get('targetVersion') or '-'}",
    )
    return _view(head, plan, "action")


def _view(head: Text, data: dict[str, Any], outcome_key: str) -> RenderableType:
    parts: list[RenderableType] = [head]
    if data.get("reason"):
        parts.append(Text(f"  reason: {data['reason']}"))
    clusters = data.get("clusters", [])
    if clusters:
        grid = rich_table(("cluster", "from", "to", outcome_key, "reason"))
        for c in clusters:
            grid.add_row(
                _name(c["id"]), c.get("from") or "-", c.get("to") or "-", console_mod.styled(c[outcome_key]), c.get("reason") or ""
            )
        parts.append(Padding(grid, (0, 0, 0, 2), expand=False))
    return Group(*parts)


def history_view(entries: Sequence[AuditEntry]) -> Table:
    """One row per attempt: its cluster's outcome, the status of the whole run it belonged to, and
    the approval decision that run went (or did not go) ahead on, where one was asked for."""
    grid = rich_table(("finished", "environment", "cluster", "from", "to", "result", "run", "decision", "reason"))
    for e in entries:
        decision = outlook.decision_of(e)
        grid.add_row(
            e.finished_at.isoformat()[:16],
            e.environment,
            _name(e.cluster_id),
            e.from_version or "-",
            e.to_version or "-",
            console_mod.styled(e.result),
            console_mod.styled(e.run_status),
            decision.text if decision else "-",
            e.reason or "",
        )
    return grid


def history_row(entry: AuditEntry) -> dict[str, Any]:
    """One row of ``ops history --json``. Keys are only ever added (scripts read them)."""
    return {
        "instanceId": entry.instance_id,
        "runId": entry.run_id,
        "environment": entry.environment,
        "cluster": entry.cluster_id,
        "from": entry.from_version,
        "to": entry.to_version,
        "result": entry.result,
        "reason": entry.reason,
        "startedAt": entry.started_at.isoformat(),
        "finishedAt": entry.finished_at.isoformat(),
        # The whole run's status, and the approval decision it went (or did not go) ahead on;
        # null on rows written before they were recorded, or where no approval was asked for.
        "runStatus": entry.run_status,
        "decidedBy": entry.decided_by,
        "decision": entry.decision,
        "decisionComment": entry.decision_comment,
    }


def records_view(records: dict[str, dict[str, Any]]) -> Table:
    """The version store's records as the demo shows them."""
    grid = rich_table(("environment", "version", "validatedAt", "clusters"))
    for environment, record in records.items():
        grid.add_row(environment, str(record["version"]), str(record["validatedAt"]), str(len(record["clusters"])))
    return grid


def rich_table(header: Sequence[str], title: str | None = None) -> Table:
    """A table with a header rule and no frame: readable in a terminal and in a log file."""
    grid = Table(*header, box=box.SIMPLE_HEAD, title=title, title_justify="left", show_edge=False, pad_edge=False)
    return grid

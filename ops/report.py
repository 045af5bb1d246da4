"""Readable text for people: a run's clusters as a table, a plan, a week."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _name(cluster_id: str) -> str:
    return cluster_id.rsplit("/", 1)[-1]


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

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
    lines = [head]
    if result.get("reason"):
        lines.append(f"  reason: {result['reason']}")
    rows = [
        (_name(c["id"]), c.get("from") or "-", c.get("to") or "-", c["result"], c.get("reason") or "")
        for c in result.get("clusters", [])
    ]
    if rows:
        lines.append(_indent(table(rows, ("cluster", "from", "to", "result", "reason"))))
    return "\n".join(lines)


def plan_summary(plan: dict[str, Any]) -> str:
    lines = [
        f"{plan.get('environment')} ({plan.get('role')})  status={plan.get('status')}  "
        f"target={plan.get('targetVersion') or '-'}"
    ]
    if plan.get("reason"):
        lines.append(f"  reason: {plan['reason']}")
    rows = [
        (_name(c["id"]), c.get("from") or "-", c.get("to") or "-", c["action"], c.get("reason") or "")
        for c in plan.get("clusters", [])
    ]
    if rows:
        lines.append(_indent(table(rows, ("cluster", "from", "to", "action", "reason"))))
    return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())

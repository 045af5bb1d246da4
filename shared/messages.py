"""The per-run notification text: environment, target, each cluster from → to and its result."""

from __future__ import annotations

from typing import Any

_ICONS = {"upgraded": "✅", "already-current": "➖", "skipped": "⏭️", "failed": "❌", "planned": "📝"}


def render(result: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """(plain text, Slack blocks) for a run result (the contract JSON)."""
    env = result.get("environment") or "no environment"
    head = f"AKS upgrade {env} {result.get('date')}: {result.get('status')}"
    if result.get("targetVersion"):
        head += f" (target {result['targetVersion']})"
    lines = [head]
    if result.get("reason"):
        lines.append(f"reason: {result['reason']}")
    for c in result.get("clusters", []):
        name = str(c.get("id", "")).rsplit("/", 1)[-1]
        move = f"{c.get('from')} → {c.get('to')}" if c.get("to") else str(c.get("from"))
        line = f"{_ICONS.get(c.get('result', ''), '•')} {name}: {move} {c.get('result')}"
        if c.get("reason"):
            line += f" ({c['reason']})"
        lines.append(line)
    if result.get("recordedVersion"):
        lines.append(f"recorded {result['recordedVersion']} as validated for {env}")
    text = "\n".join(lines)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}}]
    return text, blocks

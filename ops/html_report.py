"""``ops report --html FILE``: the status view and a timeline of the recent runs, as one page.

The page is self-contained: inline CSS and an inline SVG, no script, no font, no image and no
link to fetch, so it can be mailed, attached to a change ticket or opened offline. Every text that
comes from the stores (cluster ids, reasons) is escaped.

The timeline draws one bar per cluster upgrade attempt from the audit history, coloured by its
result, in a grid of environments (rows, in plan order) by days (columns, in the plan's time
zone). Each bar carries its cluster, versions, times, reason, the status of its whole run and the
approval decision that run went (or did not go) ahead on as a tooltip (``<title>``), and
``data-`` attributes that tests and scripts can read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from html import escape
from zoneinfo import ZoneInfo

from ops import report
from ops import status as status_mod
from shared.domain import outlook
from shared.domain.records import AuditEntry

#: Fill colours of the results and statuses the conductor reports; any other word gets OTHER.
COLOURS: dict[str, str] = {
    "upgraded": "#2e7d32",
    "succeeded": "#2e7d32",
    "already-current": "#00838f",
    "planned": "#1565c0",
    "skipped": "#f9a825",
    "nothing-to-do": "#9e9e9e",
    "stopped": "#6a1b9a",
    "failed": "#c62828",
}
OTHER = "#616161"
#: The results the legend always shows (others present in the picture are added after them): every
#: cluster result a run reports (shared/domain/results.py). A run that was stopped is a run
#: status, not a cluster result: its clusters that had not started are ``skipped`` ("not started:
#: stopped by ..."), and the tooltip names the run's status.
LEGEND_RESULTS = ("upgraded", "already-current", "planned", "skipped", "failed")
#: Text on a light fill is dark, on a dark fill white.
_DARK_TEXT_ON = frozenset({"skipped", "nothing-to-do"})
SVG_NAMESPACE = "http://www.w3.org/2000/svg"

LABEL_WIDTH = 130
DAY_WIDTH = 270
HEADER_HEIGHT = 44
BAR_HEIGHT = 18
BAR_GAP = 4
LANE_PADDING = 8
LEGEND_HEIGHT = 40
#: A generous width of one character of the 11 px labels: text is cut to fit its bar with it, and
#: the picture is made wide enough for the legend with it.
CHAR_WIDTH = 7
SWATCH = 14


def colour(word: str) -> str:
    return COLOURS.get(word, OTHER)


def _attempts_by_cell(runs: Sequence[outlook.Run], timezone: str) -> dict[tuple[str, date], list[tuple[AuditEntry, outlook.Run]]]:
    """Each attempt with the run it belongs to, by (environment, day in the plan's time zone)."""
    zone = ZoneInfo(timezone)
    cells: dict[tuple[str, date], list[tuple[AuditEntry, outlook.Run]]] = {}
    for run in runs:
        for attempt in run.attempts:
            cells.setdefault((attempt.environment, attempt.started_at.astimezone(zone).date()), []).append((attempt, run))
    for attempts in cells.values():
        attempts.sort(key=lambda pair: (pair[0].started_at, pair[0].cluster_id.lower()))
    return cells


def timeline_svg(runs: Sequence[outlook.Run], environments: Sequence[str], timezone: str, days: int) -> str:
    """The timeline picture: one bar per cluster attempt of ``runs``, by environment and day."""
    cells = _attempts_by_cell(runs, timezone)
    lanes = list(environments) + sorted({env for env, _ in cells} - set(environments))
    columns = sorted({day for _, day in cells})
    slots = {env: max([len(cells.get((env, day), [])) for day in columns] + [1]) for env in lanes}
    lane_heights = {env: 2 * LANE_PADDING + slots[env] * (BAR_HEIGHT + BAR_GAP) - BAR_GAP for env in lanes}
    legend_items = _legend_items(runs)
    width = max(LABEL_WIDTH + max(len(columns), 1) * DAY_WIDTH, LABEL_WIDTH + _legend_width(legend_items)) + 10
    body_height = sum(lane_heights.values())
    height = HEADER_HEIGHT + body_height + LEGEND_HEIGHT + 10
    out = [
        f'<svg xmlns="{SVG_NAMESPACE}" class="timeline" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="cluster upgrades of the last {days} days by environment and day">',
        f"<title>Cluster upgrades of the last {days} days, by environment and day ({escape(timezone)})</title>",
    ]
    if not columns:
        out.append(f'<text class="empty" x="{LABEL_WIDTH}" y="{HEADER_HEIGHT - 14}">no cluster upgrades in the last {days} days</text>')
    for index, day in enumerate(columns):
        x = LABEL_WIDTH + index * DAY_WIDTH
        out.append(f'<text class="day" x="{x + 6}" y="{HEADER_HEIGHT - 14}">{day.strftime("%a")} {day.isoformat()}</text>')
        out.append(f'<line class="grid" x1="{x}" y1="{HEADER_HEIGHT - 6}" x2="{x}" y2="{HEADER_HEIGHT + body_height}"/>')
    y = HEADER_HEIGHT
    for env in lanes:
        out.append(f'<g class="lane" data-environment="{escape(env)}">')
        out.append(f'<line class="grid" x1="0" y1="{y}" x2="{width}" y2="{y}"/>')
        out.append(f'<text class="environment" x="6" y="{y + LANE_PADDING + BAR_HEIGHT - 5}">{escape(env)}</text>')
        for index, day in enumerate(columns):
            x = LABEL_WIDTH + index * DAY_WIDTH + 6
            for slot, (attempt, run) in enumerate(cells.get((env, day), [])):
                top = y + LANE_PADDING + slot * (BAR_HEIGHT + BAR_GAP)
                out.append(_bar(attempt, run, x, top, DAY_WIDTH - 12, day))
        out.append("</g>")
        y += lane_heights[env]
    out.append(f'<line class="grid" x1="0" y1="{y}" x2="{width}" y2="{y}"/>')
    out.append(_legend(legend_items, y + 14))
    out.append("</svg>")
    return "\n".join(out)


def _bar(attempt: AuditEntry, run: outlook.Run, x: int, y: int, width: int, day: date) -> str:
    name = report.cluster_name(attempt.cluster_id)
    versions = f"{attempt.from_version or '?'} → {attempt.to_version}" if attempt.to_version else (attempt.from_version or "")
    tooltip = (
        f"{attempt.cluster_id}\n{attempt.environment}, {attempt.result}: {versions}\n"
        f"{attempt.started_at.isoformat()} .. {attempt.finished_at.isoformat()}\n"
        f"run {attempt.instance_id}: {run.status}"
        + (f", {run.decision.text}" if run.decision else "")
        + (f"\n{attempt.reason}" if attempt.reason else "")
    )
    text_class = "label dark" if attempt.result in _DARK_TEXT_ON else "label"
    label = _fit(f"{name} {versions}", (width - 10) // CHAR_WIDTH)
    decided = (
        f' data-decision="{escape(run.decision.decision or "")}" data-decided-by="{escape(run.decision.by or "")}"' if run.decision else ""
    )
    return (
        f'<g class="bar" data-result="{escape(attempt.result)}" data-environment="{escape(attempt.environment)}" '
        f'data-day="{day.isoformat()}" data-cluster="{escape(attempt.cluster_id)}" data-run-status="{escape(run.status)}"{decided}>'
        f"<title>{escape(tooltip)}</title>"
        f'<rect x="{x}" y="{y}" width="{width}" height="{BAR_HEIGHT}" rx="3" fill="{colour(attempt.result)}"/>'
        f'<text class="{text_class}" x="{x + 5}" y="{y + BAR_HEIGHT - 5}">{escape(label)}</text>'
        "</g>"
    )


def _fit(text: str, characters: int) -> str:
    """``text`` cut to ``characters`` (with an ellipsis) so that it stays inside its bar."""
    return text if len(text) <= characters else text[: max(characters - 1, 0)] + "…"


def _legend_items(runs: Sequence[outlook.Run]) -> list[str]:
    present = sorted({a.result for r in runs for a in r.attempts} - set(LEGEND_RESULTS))
    return [*LEGEND_RESULTS, *present]


def _legend_advance(result: str) -> int:
    """Room for one legend item: the swatch, a gap, the word, and a gap before the next."""
    return SWATCH + 5 + CHAR_WIDTH * len(result) + 16


def _legend_width(items: Sequence[str]) -> int:
    return sum(_legend_advance(result) for result in items)


def _legend(items: Sequence[str], y: int) -> str:
    out = [f'<g class="legend" transform="translate({LABEL_WIDTH},{y})">']
    x = 0
    for result in items:
        out.append(
            f'<g class="legend-item" data-result="{escape(result)}">'
            f'<rect x="{x}" y="0" width="{SWATCH}" height="{SWATCH}" rx="2" fill="{colour(result)}"/>'
            f'<text x="{x + SWATCH + 5}" y="12">{escape(result)}</text></g>'
        )
        x += _legend_advance(result)
    out.append("</g>")
    return "".join(out)


_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px; color: #212121; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { text-align: left; padding: 4px 10px; border-bottom: 1px solid #e0e0e0; vertical-align: top; }
th { background: #f5f5f5; }
.status { font-weight: 600; }
.warning { color: #8d6e00; }
.muted { color: #757575; }
svg.timeline { font-size: 11px; }
svg .grid { stroke: #e0e0e0; }
svg .day, svg .environment { font-weight: 600; fill: #424242; }
svg .label { fill: #ffffff; } svg .label.dark { fill: #212121; }
"""


def _when(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _status_span(word: str | None) -> str:
    if word is None:
        return '<span class="muted">-</span>'
    return f'<span class="status" style="color: {colour(word)}">{escape(word)}</span>'


def _environments_table(status: status_mod.WeekStatus) -> str:
    rows = []
    for e in status.environments:
        record = e.record
        if e.record_error:
            record_cell = f'<span class="warning">unreadable: {escape(e.record_error)}</span>'
        else:
            record_cell = escape(record.version) if record else '<span class="muted">none</span>'
        run = e.last_run
        run_cell = (
            '<span class="muted">none recorded</span>'
            if run is None
            else f"{_status_span(run.status)} {escape(_when(run.started_at))}<br>"
            + escape(", ".join(f"{n} {result}" for result, n in run.results.items()))
            + (f'<br><span class="decision">{escape(run.decision.text)}</span>' if run.decision else "")
        )
        rows.append(
            "<tr>"
            f"<td>{escape(e.environment)} ({escape(e.role)})</td>"
            f"<td>{escape(['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'][e.weekday])}</td>"
            f"<td>{record_cell}</td>"
            f"<td>{escape(_when(record.validated_at)) if record else '-'}</td>"
            f"<td>{escape(status_mod.soak_text(e))}</td>"
            f"<td>{run_cell}</td>"
            f"<td>{escape(status_mod.changed_text(run))}</td>"
            "</tr>"
        )
    head = "".join(f"<th>{h}</th>" for h in ("environment", "day", "record", "validated at", "soak", "last run", "changed"))
    return f'<table class="environments"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def render(status: status_mod.WeekStatus, days: int) -> str:
    """The whole page."""
    environments = [e.environment for e in status.environments]
    shown_runs = outlook.recent(status.runs, status.now, days)
    firing = status_mod.firing_text(status).plain
    warnings = "".join(f'<p class="warning">warning: {escape(w)}</p>' for w in status.warnings)
    title = f"AKS upgrade conductor: week at a glance, {status.now.strftime('%Y-%m-%d %H:%M')} UTC"
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f"<title>{escape(title)}</title>",
            f"<style>{_STYLE}</style>",
            "</head>",
            "<body>",
            f"<h1>{escape(title)}</h1>",
            f'<p class="muted">plan time zone {escape(status.timezone)}; MIN_SOAK_HOURS {status.min_soak_hours:g}; '
            f"UPGRADE_SCHEDULE {escape(status.upgrade_schedule)} (UTC)" + ("; DRY_RUN is on" if status.dry_run else "") + "</p>",
            f'<p class="next-firing">{escape(firing)}</p>',
            warnings,
            "<h2>Environments</h2>",
            _environments_table(status),
            f"<h2>Cluster upgrades of the last {days} days</h2>",
            timeline_svg(shown_runs, environments, status.timezone, days),
            "</body>",
            "</html>",
            "",
        ]
    )

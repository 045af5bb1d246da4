"""Pre-flight findings: what a careful operator would point out about a cluster before its upgrade.

``ops plan --json`` lists them per cluster and a run carries them in its clusters' reasons. Some
also decide: a cluster on its own AKS auto-upgrade channel is skipped (see ``clusters.owner_veto``),
so are stopped, failed, busy, preview and overridden ones (with that finding as their reason; the
preview finding comes from the region's version list, see ``planning.runs_not_known_ga``).
Others only inform: lagging node pools (brought up with the upgrade) and planned maintenance
configurations whose window does not include the run's time (they govern AKS's own upgrades, not
this app's, but an operator who set one may expect nothing to move outside it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from shared.domain import clusters as clusters_mod
from shared.domain import dates, versions
from shared.domain.clusters import ClusterSnapshot

_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def of_cluster(cluster: ClusterSnapshot, selection: clusters_mod.Selection, now: datetime) -> tuple[str, ...]:
    """Every finding about ``cluster`` that its ARM document alone shows."""
    found: list[str] = []
    channel = clusters_mod.channel_problem(cluster)
    if channel is not None:
        found.append(channel)
    override = clusters_mod.override_problem(cluster, now)
    if override is not None:
        found.append(f"operator override: {override}")
    state = clusters_mod.state_veto(cluster)
    if state is not None:
        found.append(state)
    lagging = lagging_pools(cluster)
    if lagging is not None:
        found.append(lagging)
    return tuple(found)


def lagging_pools(cluster: ClusterSnapshot) -> str | None:
    """Node pools behind the control plane (brought up to it with the next upgrade)."""
    try:
        control_plane = versions.parse(cluster.control_plane_version)
        behind = [(p.name, versions.parse(p.current_version)) for p in cluster.node_pools]
    except ValueError:
        return None
    lagging = [f"{name} at {version}" for name, version in behind if version < control_plane]
    if not lagging:
        return None
    return f"node pools lag the control plane ({control_plane}): {', '.join(lagging)}"


def of_maintenance(configurations: Sequence[Mapping[str, Any]], now: datetime) -> tuple[str, ...]:
    """Planned maintenance configurations (their ARM documents) whose window does not include ``now``,
    or that forbid ``now`` outright."""
    found: list[str] = []
    for config in configurations:
        name = str(config.get("name") or "?")
        props = config.get("properties") or {}
        window = props.get("maintenanceWindow")
        if window:
            verdict = _window_verdict(window, now)
        elif props.get("timeInWeek"):
            verdict = _time_in_week_verdict(props.get("timeInWeek") or [], now)
        else:
            verdict = None
        if verdict is not None:
            found.append(f"planned maintenance {name!r}: {verdict}")
        for blocked in props.get("notAllowedTime") or []:
            if _between(blocked.get("start"), blocked.get("end"), now):
                period = f"{blocked.get('start')}..{blocked.get('end')}"
                found.append(f"planned maintenance {name!r}: {now.isoformat()} is in a not-allowed time ({period})")
    return tuple(found)


def _window_verdict(window: Mapping[str, Any], now: datetime) -> str | None:
    """None when ``now`` is inside a weekly or daily maintenance window; otherwise why not (or why
    it cannot be told)."""
    schedule = window.get("schedule") or {}
    try:
        offset = _offset(str(window.get("utcOffset") or "+00:00"))
        hour, minute = (int(x) for x in str(window.get("startTime") or "00:00").split(":"))
        hours = int(window.get("durationHours") or 0)
    except (ValueError, TypeError):
        return "its window cannot be read"
    local = now.astimezone(offset)
    for blocked in window.get("notAllowedDates") or []:
        if str(blocked.get("start", "")) <= local.date().isoformat() <= str(blocked.get("end", "")):
            return f"{local.date()} is a not-allowed date of its window"
    starts: list[datetime] = []
    if "weekly" in schedule:
        day = str((schedule.get("weekly") or {}).get("dayOfWeek") or "").lower()
        if day not in _DAYS:
            return "its weekly window names no day"
        back = (local.weekday() - _DAYS.index(day)) % 7
        for weeks in (0, 1):
            start_day = local.date() - timedelta(days=back + 7 * weeks)
            starts.append(datetime(start_day.year, start_day.month, start_day.day, hour, minute, tzinfo=offset))
        what = f"weekly on {day.title()} {hour:02d}:{minute:02d} {window.get('utcOffset') or '+00:00'} for {hours} h"
    elif "daily" in schedule and int((schedule.get("daily") or {}).get("intervalDays") or 1) == 1:
        for days in (0, 1):
            start_day = local.date() - timedelta(days=days)
            starts.append(datetime(start_day.year, start_day.month, start_day.day, hour, minute, tzinfo=offset))
        what = f"daily at {hour:02d}:{minute:02d} {window.get('utcOffset') or '+00:00'} for {hours} h"
    else:
        return f"a {', '.join(schedule) or 'missing'} schedule: whether it includes now is not checked here"
    if any(start <= now < start + timedelta(hours=hours) for start in starts):
        return None
    return f"its window ({what}) does not include {now.astimezone(UTC).isoformat()}; AKS itself would not act now, this upgrade does"


def _time_in_week_verdict(slots: Sequence[Mapping[str, Any]], now: datetime) -> str | None:
    """The original ``default`` configuration: days and hour slots, in UTC."""
    at = now.astimezone(UTC)
    day = _DAYS[at.weekday()]
    for slot in slots:
        hours = [h for h in slot.get("hourSlots") or [] if isinstance(h, int) and not isinstance(h, bool)]
        if str(slot.get("day") or "").lower() == day and at.hour in hours:
            return None
    return f"its allowed time (timeInWeek) does not include {at.isoformat()}; AKS itself would not act now, this upgrade does"


def _offset(text: str) -> timezone:
    sign = -1 if text.startswith("-") else 1
    hours, minutes = (int(x) for x in text.lstrip("+-").split(":"))
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _between(start: Any, end: Any, now: datetime) -> bool:
    try:
        # ARM writes UTC; a time without an offset is read as UTC, not dropped.
        return dates.parse_utc_instant(str(start), naive_means_utc=True) <= now <= dates.parse_utc_instant(str(end), naive_means_utc=True)
    except ValueError:
        return False

"""The rollout plan: which environment upgrades on which weekday, in what order, in which time zone.

The first wave is the lead (it picks the newest version); each later wave follows the one before
it and may only take what that one validated.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.domain.text import shown

#: A wave's part in the rollout: the lead picks the newest version, a follower takes its predecessor's.
Role = Literal["lead", "follower"]
#: A run's role: its wave's, or "none" when no wave falls on the run's date.
RunRole = Literal["lead", "follower", "none"]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# An environment name becomes a Table Storage key (which refuses /, backslash, #, ? and control
# characters), part of a durable instance id and a tag value: ASCII letters, digits, - and _ only.
_ENVIRONMENT_NAME = re.compile(r"[A-Za-z0-9_-]{1,63}")
ENVIRONMENT_NAME_RULE = "1-63 characters of ASCII letters, digits, '-' and '_'"

DEFAULT_PLAN_JSON = json.dumps(
    {
        "timezone": "Europe/Oslo",
        "waves": [
            {"day": "Mon", "environment": "sandbox"},
            {"day": "Tue", "environment": "dev"},
            {"day": "Wed", "environment": "test"},
            {"day": "Thu", "environment": "prod"},
        ],
    }
)


@dataclass(frozen=True)
class Wave:
    """One environment's slot in the week."""

    #: 0 = Monday .. 6 = Sunday (``date.weekday()``).
    weekday: int
    environment: str


@dataclass(frozen=True)
class RolloutPlan:
    """Ordered waves plus the time zone the weekdays are counted in."""

    timezone: str
    waves: tuple[Wave, ...]

    @property
    def lead(self) -> str:
        return self.waves[0].environment

    @property
    def environments(self) -> tuple[str, ...]:
        return tuple(w.environment for w in self.waves)

    def wave_on(self, day: date) -> Wave | None:
        """The wave scheduled on ``day``'s weekday, if any."""
        return next((w for w in self.waves if w.weekday == day.weekday()), None)

    def wave_of(self, environment: str) -> Wave | None:
        return next((w for w in self.waves if w.environment == environment), None)

    def predecessor(self, environment: str) -> str | None:
        """The environment whose validated version ``environment`` follows; None for the lead."""
        names = self.environments
        index = names.index(environment)
        return names[index - 1] if index > 0 else None

    def to_dict(self) -> dict[str, Any]:
        """The plan as ROLLOUT_PLAN spells it."""
        waves = [{"day": WEEKDAYS[w.weekday].title(), "environment": w.environment} for w in self.waves]
        return {"timezone": self.timezone, "waves": waves}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RolloutPlan:
        """A plan :meth:`to_dict` wrote (validated when the settings were read; not checked again)."""
        return cls(data["timezone"], tuple(Wave(parse_weekday(w["day"]), w["environment"]) for w in data["waves"]))


@dataclass(frozen=True)
class ChosenWave:
    """The wave a run acts on, with its role; ``environment`` None means no wave that day."""

    environment: str | None
    role: RunRole
    predecessor: str | None


def parse_weekday(name: str) -> int:
    """Mon..Sun or Monday..Sunday in any case → 0..6; ValueError otherwise."""
    key = name.strip().lower() if isinstance(name, str) else ""
    if key in WEEKDAYS:
        return WEEKDAYS.index(key)
    if key in _FULL_NAMES:
        return _FULL_NAMES.index(key)
    raise ValueError(f"unknown weekday {name!r} (use Mon..Sun or Monday..Sunday)")


def parse_plan(text: str) -> RolloutPlan:
    """Parse ROLLOUT_PLAN JSON; raises ValueError listing every problem found."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at position {exc.pos})") from exc
    if not isinstance(raw, dict):
        raise ValueError('must be a JSON object like {"timezone": "Europe/Oslo", "waves": [...]}')
    problems: list[str] = []
    unknown = sorted(set(raw) - {"timezone", "waves"})
    if unknown:
        problems.append(f"unknown keys {unknown}")
    timezone = raw.get("timezone", "UTC")
    if not isinstance(timezone, str) or not timezone:
        problems.append("timezone must be an IANA name such as Europe/Oslo")
        timezone = "UTC"
    else:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"unknown timezone {timezone!r}")
    waves_raw = raw.get("waves")
    waves: list[Wave] = []
    if not isinstance(waves_raw, list) or not waves_raw:
        problems.append('waves must be a non-empty list of {"day", "environment"}')
        waves_raw = []
    for index, item in enumerate(waves_raw):
        where = f"waves[{index}]"
        if not isinstance(item, dict):
            problems.append(f"{where} must be an object")
            continue
        extra = sorted(set(item) - {"day", "environment"})
        if extra:
            problems.append(f"{where} has unknown keys {extra}")
        env = item.get("environment")
        if not isinstance(env, str) or not env.strip():
            problems.append(f"{where}.environment must be a non-empty string")
            continue
        if not _ENVIRONMENT_NAME.fullmatch(env):
            problems.append(f"{where}.environment must be {ENVIRONMENT_NAME_RULE}, got {shown(env)}")
            continue
        try:
            weekday = parse_weekday(item.get("day", ""))
        except ValueError as exc:
            problems.append(f"{where}.day: {exc}")
            continue
        waves.append(Wave(weekday, env))
    seen_envs: set[str] = set()
    seen_days: set[int] = set()
    for wave in waves:
        if wave.environment.lower() in seen_envs:
            problems.append(f"environment {wave.environment!r} appears more than once")
        if wave.weekday in seen_days:
            problems.append(f"two waves on {WEEKDAYS[wave.weekday].title()}")
        seen_envs.add(wave.environment.lower())
        seen_days.add(wave.weekday)
    if problems:
        raise ValueError("; ".join(problems))
    return RolloutPlan(timezone=timezone, waves=tuple(waves))


def choose_wave(plan: RolloutPlan, day: date, environment: str | None) -> ChosenWave:
    """Which environment a run on ``day`` acts on: the named one (any day) or that weekday's wave.

    An unknown explicit environment raises ValueError; callers validate it before starting.
    """
    if environment is not None:
        wave = plan.wave_of(environment)
        if wave is None:
            raise ValueError(f"unknown environment {environment!r}; the plan has {list(plan.environments)}")
    else:
        wave = plan.wave_on(day)
    if wave is None:
        return ChosenWave(environment=None, role="none", predecessor=None)
    predecessor = plan.predecessor(wave.environment)
    return ChosenWave(
        environment=wave.environment,
        role="lead" if predecessor is None else "follower",
        predecessor=predecessor,
    )

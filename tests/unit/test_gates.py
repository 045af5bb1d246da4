"""The one gate before a run acts: the wave for the date, the freeze (on the requested date and on
the day the work runs), the predecessor's soak and the dry run, in that order."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from shared.domain import freeze, gates, rollout
from shared.domain.records import ValidatedRecord

PLAN = rollout.parse_plan(rollout.DEFAULT_PLAN_JSON)
MON, TUE, SAT = date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 5)
CLOCK = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


def record(validated_at: datetime, version: str = "1.31.2") -> ValidatedRecord:
    return ValidatedRecord("sandbox", version, validated_at, "sandbox-2026-03-02", ("aks1",))


def windows(text: str) -> tuple[freeze.FreezeWindow, ...]:
    return freeze.parse_freeze_dates(text)


# -- the wave -------------------------------------------------------------------------------------
def test_a_day_with_a_wave_may_act_on_that_wave() -> None:
    gate = gates.decide(PLAN, requested=TUE, work_day=TUE)

    assert (gate.status, gate.reason, gate.may_act, gate.dry_run) == ("act", None, True, False)
    assert gate.wave == rollout.ChosenWave("dev", "follower", "sandbox")


def test_a_day_without_a_wave_has_nothing_to_do_and_says_which_day() -> None:
    gate = gates.decide(PLAN, requested=SAT, work_day=SAT)

    assert (gate.status, gate.may_act, gate.wave.environment, gate.wave.role) == ("nothing-to-do", False, None, "none")
    assert gate.reason == "no wave on Saturday 2026-12-05 in ROLLOUT_PLAN"


def test_an_explicit_environment_runs_its_wave_on_any_day() -> None:
    gate = gates.decide(PLAN, requested=SAT, work_day=SAT, environment="sandbox")

    assert gate.status == "act" and gate.wave == rollout.ChosenWave("sandbox", "lead", None)


def test_an_unknown_environment_is_refused() -> None:
    with pytest.raises(ValueError, match="staging"):
        gates.decide(PLAN, requested=MON, work_day=MON, environment="staging")


# -- freeze ---------------------------------------------------------------------------------------
def test_a_frozen_requested_date_is_skipped_with_the_window() -> None:
    gate = gates.decide(PLAN, requested=MON, work_day=MON, freeze_windows=windows("2026-11-28..2026-12-02"))

    assert (gate.status, gate.may_act) == ("skipped", False)
    assert gate.wave.environment == "sandbox" and gate.wave.role == "lead"
    assert gate.reason == "2026-11-30 is frozen (FREEZE_DATES 2026-11-28..2026-12-02); no upgrade starts"


def test_work_on_a_frozen_day_is_skipped_naming_both_days_even_for_an_unfrozen_date() -> None:
    # A manual re-run of Monday's wave, started on a frozen Christmas Eve.
    gate = gates.decide(PLAN, requested=MON, work_day=date(2026, 12, 24), freeze_windows=windows("2026-12-24"))

    assert gate.status == "skipped"
    assert gate.reason is not None
    assert "2026-11-30" in gate.reason and "2026-12-24" in gate.reason and "frozen" in gate.reason


def test_neither_day_frozen_may_act() -> None:
    gate = gates.decide(PLAN, requested=MON, work_day=TUE, freeze_windows=windows("2026-11-29, 2026-12-02..2026-12-03"))

    assert gate.status == "act"


def test_a_freeze_wins_over_a_dry_run() -> None:
    gate = gates.decide(PLAN, requested=MON, work_day=MON, freeze_windows=windows("2026-11-30"), dry_run=True)

    assert gate.status == "skipped" and not gate.dry_run


def test_no_wave_wins_over_a_freeze() -> None:
    gate = gates.decide(PLAN, requested=SAT, work_day=SAT, freeze_windows=windows("2026-12-05"))

    assert gate.status == "nothing-to-do"


# -- dry run --------------------------------------------------------------------------------------
def test_a_dry_run_is_planned_and_may_act() -> None:
    gate = gates.decide(PLAN, requested=MON, work_day=MON, dry_run=True)

    assert (gate.status, gate.may_act, gate.dry_run) == ("planned", True, True)


# -- soak -----------------------------------------------------------------------------------------
def test_an_unsoaked_predecessor_record_skips_a_follower() -> None:
    soak = gates.Soak(record(CLOCK - timedelta(hours=2)), CLOCK, 20)

    gate = gates.decide(PLAN, requested=TUE, work_day=TUE, soak=soak, dry_run=True)

    assert gate.status == "skipped" and gate.reason is not None and "MIN_SOAK_HOURS is 20" in gate.reason


def test_a_soaked_predecessor_record_lets_a_follower_act() -> None:
    soak = gates.Soak(record(CLOCK - timedelta(hours=20)), CLOCK, 20)

    assert gates.decide(PLAN, requested=TUE, work_day=TUE, soak=soak).status == "act"


def test_a_freeze_is_reported_before_the_soak() -> None:
    soak = gates.Soak(record(CLOCK), CLOCK, 20)

    gate = gates.decide(PLAN, requested=TUE, work_day=TUE, soak=soak, freeze_windows=windows("2026-12-01"))

    assert gate.reason is not None and "frozen" in gate.reason


@pytest.mark.parametrize(
    ("age", "allowed"),
    [
        (timedelta(hours=20), True),
        (timedelta(hours=20, seconds=-1), False),
        (timedelta(hours=20, seconds=1), True),
        (timedelta(days=6), True),
        (timedelta(0), False),
        (timedelta(hours=-3), False),  # a record from the future never counts as soaked
    ],
)
def test_soak_allows_a_follower_exactly_at_min_soak_hours_and_not_a_second_before(age: timedelta, allowed: bool) -> None:
    problem = gates.soak_problem(record(CLOCK - age), CLOCK, 20)
    assert (problem is None) is allowed


def test_the_soak_reason_names_the_hours_without_rounding_up_to_the_limit() -> None:
    # GIVEN a record validated one second less than 20 hours before the run
    problem = gates.soak_problem(record(CLOCK - timedelta(hours=20, seconds=-1)), CLOCK, 20)
    # THEN the reason says who validated what, its age, and the setting
    assert problem is not None
    assert "sandbox validated 1.31.2" in problem
    assert "19.9 h before this run" in problem
    assert "MIN_SOAK_HOURS is 20" in problem


def test_zero_soak_hours_lets_a_follower_go_at_once() -> None:
    assert gates.soak_problem(record(CLOCK), CLOCK, 0) is None


def test_fractional_soak_hours_are_honoured() -> None:
    assert gates.soak_problem(record(CLOCK - timedelta(minutes=90)), CLOCK, 1.5) is None
    problem = gates.soak_problem(record(CLOCK - timedelta(minutes=89)), CLOCK, 1.5)
    assert problem is not None and "MIN_SOAK_HOURS is 1.5" in problem

"""The week at a glance (shared/domain/outlook.py): soak against MIN_SOAK_HOURS, the next timer
firing and what the run gate would let it do, and the audit history folded back into runs.

Every instant is fixed: "now" is an argument, never the clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from shared.domain import freeze, outlook, rollout
from shared.domain.records import AuditEntry, ValidatedRecord

PLAN = rollout.parse_plan(rollout.DEFAULT_PLAN_JSON)  # Mon sandbox .. Thu prod, Europe/Oslo
SCHEDULE = "0 0 10 * * 1-4"  # 10:00 UTC, Monday to Thursday
MON = date(2026, 11, 30)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def record(environment: str, validated_at: datetime, version: str = "1.31.2") -> ValidatedRecord:
    return ValidatedRecord(environment, version, validated_at, f"aks-upgrade-{environment}-x", ("/s/aks1",))


# -- soak -------------------------------------------------------------------------------------------
def test_a_record_younger_than_the_soak_says_how_long_until_the_next_environment_may_take_it() -> None:
    soak = outlook.soaking(record("sandbox", at(MON, 9, 2)), at(MON, 21, 2), 20)

    assert soak.age == timedelta(hours=12)
    assert soak.soaked_at == at(MON + timedelta(days=1), 5, 2)
    assert soak.remaining == timedelta(hours=8) and not soak.soaked


def test_a_record_is_soaked_exactly_at_min_soak_hours_as_the_run_gate_counts() -> None:
    validated = at(MON, 9, 2)
    just_before = outlook.soaking(record("sandbox", validated), validated + timedelta(hours=20, seconds=-1), 20)
    exactly = outlook.soaking(record("sandbox", validated), validated + timedelta(hours=20), 20)

    assert not just_before.soaked and just_before.remaining == timedelta(seconds=1)
    assert exactly.soaked and exactly.remaining == timedelta(0)


def test_hours_round_down_so_an_unsoaked_age_never_reads_as_the_soak() -> None:
    assert outlook.hours(timedelta(hours=20, seconds=-1)) == 19.9
    assert outlook.hours(timedelta(hours=24, minutes=58)) == 24.9


# -- the next firing ---------------------------------------------------------------------------------
def test_the_next_firing_reads_the_schedule_as_utc() -> None:
    assert outlook.next_firing(SCHEDULE, at(MON, 8)) == at(MON, 10)
    assert outlook.next_firing(SCHEDULE, at(MON, 10)) == at(MON + timedelta(days=1), 10)  # strictly after
    assert outlook.next_firing(SCHEDULE, at(MON + timedelta(days=3), 11)) == at(MON + timedelta(days=7), 10)  # Thu -> Mon


def test_the_next_firing_keeps_utc_across_a_daylight_saving_change() -> None:
    # Oslo moves to summer time on 2027-03-28; a UTC schedule fires at 10:00 UTC on both sides.
    assert outlook.next_firing(SCHEDULE, datetime(2027, 3, 26, 12, tzinfo=UTC)) == datetime(2027, 3, 29, 10, tzinfo=UTC)


def test_a_schedule_that_never_fires_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="never fires"):
        outlook.next_firing("0 0 10 30 2 *", at(MON, 8))  # 30 February


def test_a_firing_runs_the_wave_of_its_date_in_the_plans_time_zone() -> None:
    # 23:30 UTC on Monday is already Tuesday in Oslo: the firing runs dev's wave, not sandbox's.
    firing_at = outlook.next_firing("0 30 23 * * 1-4", at(MON, 8))
    firing = outlook.outlook_of_firing(
        PLAN, firing_at, records={"sandbox": record("sandbox", at(MON - timedelta(days=7), 9))}, min_soak_hours=20
    )

    assert firing_at == at(MON, 23, 30)
    assert firing.day == MON + timedelta(days=1)
    assert (firing.gate.wave.environment, firing.gate.status) == ("dev", "act")


def test_the_lead_acts_at_its_firing() -> None:
    firing = outlook.outlook_of_firing(PLAN, at(MON, 10), records={}, min_soak_hours=20)

    assert (firing.day, firing.gate.wave.environment, firing.gate.wave.role, firing.gate.status) == (MON, "sandbox", "lead", "act")


def test_a_follower_whose_predecessor_soaked_by_the_firing_acts() -> None:
    firing = outlook.outlook_of_firing(
        PLAN, at(MON + timedelta(days=1), 10), records={"sandbox": record("sandbox", at(MON, 9, 2))}, min_soak_hours=20
    )

    assert (firing.gate.wave.environment, firing.gate.status, firing.gate.reason) == ("dev", "act", None)


def test_a_follower_whose_predecessor_has_not_soaked_by_the_firing_is_skipped_with_the_gates_reason() -> None:
    firing = outlook.outlook_of_firing(
        PLAN, at(MON + timedelta(days=1), 10), records={"sandbox": record("sandbox", at(MON, 9, 2))}, min_soak_hours=30
    )

    assert firing.gate.status == "skipped"
    assert firing.gate.reason is not None and "MIN_SOAK_HOURS is 30" in firing.gate.reason and "24.9 h" in firing.gate.reason


def test_a_follower_without_a_predecessor_record_is_skipped_naming_the_predecessor() -> None:
    firing = outlook.outlook_of_firing(PLAN, at(MON + timedelta(days=2), 10), records={"dev": None}, min_soak_hours=20)

    assert (firing.gate.wave.environment, firing.gate.status) == ("test", "skipped")
    assert firing.gate.reason == "no validated version recorded for dev; nothing to follow"


def test_a_frozen_firing_is_skipped_before_anything_else() -> None:
    frozen = freeze.parse_freeze_dates((MON + timedelta(days=2)).isoformat())

    firing = outlook.outlook_of_firing(PLAN, at(MON + timedelta(days=2), 10), records={}, min_soak_hours=20, freeze_windows=frozen)

    assert firing.gate.status == "skipped" and "frozen" in (firing.gate.reason or "")


def test_a_firing_that_acts_in_an_approval_environment_waits_for_a_persons_decision_first() -> None:
    records = {"sandbox": record("sandbox", at(MON, 9, 2))}

    firing = outlook.outlook_of_firing(
        PLAN,
        at(MON + timedelta(days=1), 10),
        records=records,
        min_soak_hours=20,
        approval_environments=("dev", "prod"),
        approval_timeout_hours=12,
    )

    assert (firing.gate.wave.environment, firing.gate.status) == ("dev", "act")
    assert firing.approval_wait_hours == 12


def test_a_firing_waits_for_no_decision_outside_approval_environments_nor_when_it_does_not_act() -> None:
    tuesday = at(MON + timedelta(days=1), 10)
    soaked = {"sandbox": record("sandbox", at(MON, 9, 2))}

    def firing(
        when: datetime, records: dict[str, ValidatedRecord | None], soak_hours: float = 20, dry_run: bool = False
    ) -> outlook.FiringOutlook:
        return outlook.outlook_of_firing(
            PLAN,
            when,
            records=records,
            min_soak_hours=soak_hours,
            dry_run=dry_run,
            approval_environments=("dev",),
            approval_timeout_hours=12,
        )

    lead = firing(at(MON, 10), {})
    dry = firing(tuesday, soaked, dry_run=True)
    unsoaked = firing(tuesday, soaked, soak_hours=30)
    unrecorded = firing(tuesday, {})

    assert (lead.gate.status, lead.approval_wait_hours) == ("act", None)  # sandbox needs no approval
    assert (dry.gate.status, dry.approval_wait_hours) == ("planned", None)  # a dry run PUTs nothing, so it never waits
    assert (unsoaked.gate.status, unsoaked.approval_wait_hours) == ("skipped", None)
    assert (unrecorded.gate.status, unrecorded.approval_wait_hours) == ("skipped", None)


def test_a_firing_under_dry_run_is_planned_and_one_without_a_wave_has_nothing_to_do() -> None:
    dry = outlook.outlook_of_firing(PLAN, at(MON, 10), records={}, min_soak_hours=20, dry_run=True)
    saturday = outlook.outlook_of_firing(PLAN, at(MON + timedelta(days=5), 10), records={}, min_soak_hours=20)

    assert dry.gate.status == "planned"
    assert (saturday.gate.status, saturday.gate.wave.environment) == ("nothing-to-do", None)


# -- runs from the audit history ------------------------------------------------------------------------
def attempt(
    environment: str,
    cluster: str,
    result: str,
    started: datetime,
    *,
    run_id: str | None = "run-1",
    run_status: str | None = None,
    instance: str | None = None,
    decided: tuple[str, str, str | None] | None = None,
) -> AuditEntry:
    return AuditEntry(
        instance_id=instance or f"aks-upgrade-{environment}-{started.date()}",
        environment=environment,
        cluster_id=f"/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/{cluster}",
        from_version="1.30.5",
        to_version="1.31.2" if result in ("upgraded", "failed", "planned") else None,
        result=result,
        reason=None,
        started_at=started,
        finished_at=started + timedelta(minutes=20),
        run_id=run_id,
        run_status=run_status,
        decided_by=decided[0] if decided else None,
        decision=decided[1] if decided else None,
        decision_comment=decided[2] if decided else None,
    )


def test_attempts_fold_into_runs_newest_first_with_the_clusters_each_changed() -> None:
    monday = [
        attempt("sandbox", "aks-b", "upgraded", at(MON, 9), run_status="succeeded"),
        attempt("sandbox", "aks-a", "upgraded", at(MON, 9), run_status="succeeded"),
    ]
    tuesday = [
        attempt("dev", "aks-d1", "upgraded", at(MON + timedelta(days=1), 9), run_status="failed"),
        attempt("dev", "aks-d2", "failed", at(MON + timedelta(days=1), 9), run_status="failed"),
        attempt("dev", "aks-d3", "skipped", at(MON + timedelta(days=1), 9), run_status="failed"),
    ]

    runs = outlook.runs_from_history([*monday, *tuesday])

    assert [(r.environment, r.status) for r in runs] == [("dev", "failed"), ("sandbox", "succeeded")]
    assert [a.cluster_id.rsplit("/", 1)[-1] for a in runs[1].attempts] == ["aks-a", "aks-b"]
    assert [a.cluster_id.rsplit("/", 1)[-1] for a in runs[0].changed] == ["aks-d1"]
    assert runs[0].results == {"failed": 1, "skipped": 1, "upgraded": 1}


def test_re_runs_of_one_instance_are_separate_runs_and_the_newest_is_the_last() -> None:
    first = attempt("dev", "aks-d1", "failed", at(MON, 9), run_id="run-1", run_status="failed", instance="aks-upgrade-dev-x")
    again = attempt("dev", "aks-d1", "upgraded", at(MON, 15), run_id="run-2", run_status="succeeded", instance="aks-upgrade-dev-x")

    last = outlook.last_runs(outlook.runs_from_history([first, again]), ("sandbox", "dev"))

    assert last["sandbox"] is None
    assert last["dev"] is not None and (last["dev"].run_id, last["dev"].status) == ("run-2", "succeeded")


def test_a_run_keeps_the_approval_decision_its_rows_hold() -> None:
    approved = [
        attempt("prod", f"aks-p{n}", "upgraded", at(MON, 9), run_status="succeeded", decided=("alice", "approve", "CAB-7")) for n in (1, 2)
    ]
    rejected = attempt("test", "aks-t1", "skipped", at(MON, 8), run_status="skipped", decided=("bob", "reject", None))
    plain = attempt("dev", "aks-d1", "upgraded", at(MON, 7), run_status="succeeded")

    runs = {r.environment: r for r in outlook.runs_from_history([*approved, rejected, plain])}

    assert runs["prod"].decision == outlook.RunDecision("alice", "approve", "CAB-7")
    assert runs["prod"].decision.text == "approved by alice: CAB-7"
    assert runs["test"].decision is not None and runs["test"].decision.text == "rejected by bob"
    assert runs["dev"].decision is None


def test_a_recorded_run_status_passes_through_whatever_it_is() -> None:
    [run] = outlook.runs_from_history([attempt("prod", "aks-p1", "upgraded", at(MON, 9), run_status="stopped")])

    assert run.status == "stopped"


@pytest.mark.parametrize(
    ("results", "status"),
    [(("upgraded", "skipped"), "succeeded"), (("upgraded", "failed"), "failed"), (("planned", "planned"), "planned")],
)
def test_rows_written_before_runs_recorded_their_status_get_one_from_their_clusters(results: tuple[str, ...], status: str) -> None:
    rows = [attempt("dev", f"aks-{n}", result, at(MON, 9), run_id=None) for n, result in enumerate(results)]

    [run] = outlook.runs_from_history(rows)

    assert run.status == status and run.run_id is None


def test_recent_keeps_the_runs_of_the_last_days_up_to_now() -> None:
    runs = outlook.runs_from_history(
        [
            attempt("sandbox", "a", "upgraded", at(MON - timedelta(days=20), 9)),
            attempt("sandbox", "a", "upgraded", at(MON, 9), run_id="run-2"),
        ]
    )

    assert [r.started_at for r in outlook.recent(runs, at(MON, 12), 14)] == [at(MON, 9)]
    assert outlook.recent(runs, at(MON, 8), 14) == []  # a run after "now" is not recent

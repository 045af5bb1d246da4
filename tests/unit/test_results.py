"""The run result and the record decision: what an environment may record as validated."""

from __future__ import annotations

import pytest

from shared.domain import results
from shared.domain.planning import ClusterPlan, EnvironmentPlan
from shared.domain.results import ClusterOutcome, RecordDecision, RunResult


def plan(*clusters: tuple[str, str, str | None, str]) -> EnvironmentPlan:
    """Clusters as (id, from, to, action)."""
    return EnvironmentPlan(
        "dev", "follower", "ready", None, "1.31.2", tuple(ClusterPlan(i, i, "s", "rg", "l", f, t, a) for i, f, t, a in clusters)
    )


def outcomes_of(env: EnvironmentPlan, **results_by_id: str) -> list[ClusterOutcome]:
    """Each cluster's outcome as planned; ``results_by_id`` overrides the result of some."""
    found = []
    for p in env.clusters:
        outcome = results.outcome_from_plan(p)
        if p.id in results_by_id:
            outcome = ClusterOutcome(p.id, p.from_version, p.to_version, results_by_id[p.id], "UpgradeFailed: boom")
        found.append(outcome)
    return found


def test_the_record_is_the_highest_version_eligible_clusters_run_and_the_clusters_that_run_it() -> None:
    env = plan(
        ("a", "1.30.5", "1.31.2", "upgrade"),
        ("b", "1.31.2", "1.31.2", "already-current"),
        ("c", "1.29.8", "1.30.10", "upgrade"),
        ("d", "1.31.2", None, "skipped"),
    )
    decision = results.record_decision(env, outcomes_of(env), "1.31.2")
    assert decision == RecordDecision("1.31.2", ("a", "b"))


def test_nothing_is_recorded_when_any_cluster_failed() -> None:
    env = plan(("a", "1.30.5", "1.31.2", "upgrade"), ("b", "1.30.5", "1.31.2", "upgrade"))
    assert results.record_decision(env, outcomes_of(env, b="failed"), "1.31.2") is None


def test_a_cluster_that_failed_in_planning_also_blocks_the_record() -> None:
    env = plan(("a", "1.30.5", "1.31.2", "upgrade"), ("b", "bad", None, "failed"))
    assert results.record_decision(env, outcomes_of(env), "1.31.2") is None


def test_skipped_clusters_are_never_in_the_record_even_at_the_recorded_version() -> None:
    env = plan(("a", "1.30.5", "1.31.2", "upgrade"), ("stopped", "1.31.2", None, "skipped"))
    outcomes = outcomes_of(env)
    # even if a skipped outcome somehow carried the version, it does not count
    outcomes[1] = ClusterOutcome("stopped", "1.31.2", "1.31.2", "skipped", "not running (powerState Stopped)")
    assert results.record_decision(env, outcomes, "1.31.2") == RecordDecision("1.31.2", ("a",))


def test_the_record_is_never_above_the_target_version() -> None:
    # An already-current cluster above the target cannot happen for a follower (it would be skipped),
    # but the record must still never exceed targetVersion.
    env = plan(("a", "1.30.5", "1.31.2", "upgrade"), ("b", "1.31.4", "1.31.4", "already-current"))
    assert results.record_decision(env, outcomes_of(env), "1.31.2") == RecordDecision("1.31.2", ("a",))


def test_without_an_eligible_cluster_running_a_version_nothing_is_recorded() -> None:
    env = plan(("a", "1.31.2", None, "skipped"))
    assert results.record_decision(env, outcomes_of(env), "1.31.2") is None


def test_without_a_target_version_nothing_is_recorded() -> None:
    env = plan(("a", "1.30.5", "1.31.2", "upgrade"))
    assert results.record_decision(env, outcomes_of(env), None) is None


def test_a_dry_run_records_nothing() -> None:
    env = plan(("a", "1.30.5", "1.31.2", "upgrade"))
    planned = [results.outcome_from_plan(p, dry_run=True) for p in env.clusters]
    assert [o.result for o in planned] == ["planned"]
    assert results.record_decision(env, planned, "1.31.2") is None


def test_the_record_compares_versions_numerically() -> None:
    env = plan(("a", "1.30.5", "1.30.9", "upgrade"), ("b", "1.30.5", "1.30.10", "upgrade"))
    assert results.record_decision(env, outcomes_of(env), "1.30.10") == RecordDecision("1.30.10", ("b",))


@pytest.mark.parametrize(
    ("cluster_results", "dry_run", "status", "reason_contains"),
    [
        (["upgraded", "already-current", "skipped"], False, "succeeded", None),
        (["already-current"], False, "succeeded", None),
        (["upgraded", "failed"], False, "failed", "1 of 2 cluster(s) failed: c1; nothing recorded"),
        (["planned", "skipped"], True, "planned", None),
        (["failed", "planned"], True, "failed", "c0"),
    ],
)
def test_overall_status(cluster_results: list[str], dry_run: bool, status: str, reason_contains: str | None) -> None:
    outcomes = [ClusterOutcome(f"/sub/x/managedClusters/c{i}", None, None, r) for i, r in enumerate(cluster_results)]
    got_status, reason = results.overall_status(outcomes, dry_run=dry_run)
    assert got_status == status
    if reason_contains is None:
        assert reason is None
    else:
        assert reason is not None and reason_contains in reason


def test_outcome_from_plan_keeps_the_reason_of_skipped_clusters() -> None:
    skipped = ClusterPlan("a", "a", "s", "rg", "l", "1.32.0", None, "skipped", "above target: ...")
    assert results.outcome_from_plan(skipped) == ClusterOutcome("a", "1.32.0", None, "skipped", "above target: ...")


def test_the_run_result_json_has_the_contract_keys_and_round_trips() -> None:
    result = RunResult(
        "dev-2026-03-03",
        "2026-03-03",
        "dev",
        "follower",
        "succeeded",
        None,
        "1.31.2",
        "1.31.2",
        (ClusterOutcome("a", "1.30.5", "1.31.2", "upgraded"),),
    )
    data = result.to_dict()
    assert list(data) == ["instanceId", "date", "environment", "role", "status", "reason", "targetVersion", "recordedVersion", "clusters"]
    assert list(data["clusters"][0]) == ["id", "from", "to", "result", "reason"]
    assert RunResult.from_dict(data) == result

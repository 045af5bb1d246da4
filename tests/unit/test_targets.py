"""Target selection per cluster: lead by policy, follower capped at its predecessor's record."""

from __future__ import annotations

import pytest

from shared.domain import targets, versions
from shared.domain.clusters import AvailableVersion


def v(text: str) -> versions.KubernetesVersion:
    return versions.parse(text)


def offers(*texts: str) -> list[AvailableVersion]:
    """An upgrade profile; a trailing "-preview" marks a preview entry."""
    return [AvailableVersion(v(t.removesuffix("-preview")), t.endswith("-preview")) for t in texts]


PROFILE_1_30_5 = offers("1.31.2", "1.30.9", "1.31.4", "1.30.10", "1.32.0", "1.31.6-preview", "1.30.4")
REGION = offers("1.29.15", "1.30.10", "1.31.4", "1.31.6-preview", "1.32.1", "1.33.0-preview")


# -- lead -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("policy", "current", "expected"),
    [
        # latest: the newest GA one hop reaches; 1.32.0 would skip a minor, 1.31.6 is a preview
        ("latest", "1.30.5", "1.31.4"),
        # patch: the newest patch of the current minor, numerically (1.30.10 > 1.30.9)
        ("patch", "1.30.5", "1.30.10"),
        # stable: N = 1.32 (newest GA minor in the region), so the newest patch of 1.31
        ("stable", "1.30.5", "1.31.4"),
    ],
)
def test_lead_target_follows_the_policy(policy: str, current: str, expected: str) -> None:
    decision = targets.lead_target(v(current), PROFILE_1_30_5, policy, REGION)
    assert decision == targets.TargetDecision("upgrade", v(expected))


def test_stable_never_goes_further_than_one_hop() -> None:
    # GIVEN a cluster on 1.29 while the region's stable minor is 1.31
    decision = targets.lead_target(v("1.29.3"), offers("1.29.9", "1.30.10", "1.31.4"), "stable", REGION)
    # THEN it moves one minor only
    assert decision == targets.TargetDecision("upgrade", v("1.30.10"))


def test_stable_keeps_a_cluster_on_minor_n_minus_1_on_its_newest_patch() -> None:
    decision = targets.lead_target(v("1.31.2"), offers("1.31.4", "1.32.1"), "stable", REGION)
    assert decision == targets.TargetDecision("upgrade", v("1.31.4"))


def test_stable_ignores_preview_minors_when_finding_n() -> None:
    # 1.33.0 is a preview in the region, so N is 1.32 and the stable minor is 1.31
    assert targets.policy_ceiling(v("1.30.5"), "stable", REGION) == (1, 31)


def test_stable_skips_a_lead_cluster_already_above_the_stable_minor() -> None:
    decision = targets.lead_target(v("1.32.1"), offers("1.32.3"), "stable", REGION)
    assert decision.action == "skipped" and decision.target is None
    assert decision.reason is not None and decision.reason.startswith("above target")


def test_stable_without_any_ga_version_in_the_region_is_an_error() -> None:
    with pytest.raises(ValueError, match="stable policy"):
        targets.lead_target(v("1.30.5"), PROFILE_1_30_5, "stable", offers("1.33.0-preview"))


def test_an_unknown_policy_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown target policy"):
        targets.lead_target(v("1.30.5"), PROFILE_1_30_5, "newest")


@pytest.mark.parametrize("policy", ["latest", "patch"])
def test_lead_with_nothing_newer_on_offer_is_already_current(policy: str) -> None:
    decision = targets.lead_target(v("1.30.10"), offers("1.30.4", "1.31.6-preview", "1.32.0"), policy)
    assert decision == targets.TargetDecision("already-current", v("1.30.10"))


def test_lead_never_takes_a_preview_even_when_it_is_the_only_newer_version() -> None:
    decision = targets.lead_target(v("1.30.5"), offers("1.30.6-preview", "1.31.0-preview"), "latest")
    assert decision.action == "already-current"


def test_lead_never_downgrades_even_when_the_profile_lists_only_older_versions() -> None:
    decision = targets.lead_target(v("1.30.5"), offers("1.30.1", "1.29.15"), "latest")
    assert decision == targets.TargetDecision("already-current", v("1.30.5"))


# -- follower -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("current", "profile", "ceiling", "action", "target"),
    [
        # the predecessor's version is offered: take it
        ("1.30.5", ("1.30.9", "1.31.2", "1.31.4"), "1.31.2", "upgrade", "1.31.2"),
        # never above the ceiling, even when newer is on offer
        ("1.30.5", ("1.30.9", "1.30.10", "1.31.4"), "1.30.9", "upgrade", "1.30.9"),
        # the exact ceiling is not offered: the highest offered below it
        ("1.30.5", ("1.30.7", "1.31.1", "1.31.4"), "1.31.3", "upgrade", "1.31.1"),
        # two minors behind: one minor toward the ceiling (1.30.x), never 1.31 in one hop
        ("1.29.3", ("1.29.9", "1.30.4", "1.30.10", "1.31.2"), "1.31.2", "upgrade", "1.30.10"),
        # preview on offer equal to the ceiling is still a preview
        ("1.30.5", ("1.30.7", "1.31.2-preview"), "1.31.2", "upgrade", "1.30.7"),
        # at the ceiling
        ("1.31.2", ("1.31.4", "1.32.0"), "1.31.2", "already-current", "1.31.2"),
    ],
)
def test_follower_takes_the_highest_offered_version_not_above_its_predecessors(
    current: str, profile: tuple[str, ...], ceiling: str, action: str, target: str
) -> None:
    decision = targets.follower_target(v(current), offers(*profile), v(ceiling))
    assert decision == targets.TargetDecision(action, v(target))


@pytest.mark.parametrize("current", ["1.31.3", "1.32.0", "2.0.0"])
def test_follower_above_the_ceiling_is_skipped_above_target(current: str) -> None:
    decision = targets.follower_target(v(current), offers("1.32.4"), v("1.31.2"))
    assert decision.action == "skipped" and decision.target is None
    assert decision.reason is not None and decision.reason.startswith("above target")


def test_follower_with_no_upgrade_toward_the_ceiling_on_offer_is_skipped_with_a_reason() -> None:
    decision = targets.follower_target(v("1.30.5"), offers("1.31.4", "1.30.3"), v("1.31.2"))
    assert decision.action == "skipped"
    assert decision.reason is not None and "no upgrade toward 1.31.2" in decision.reason


def test_reachable_lists_ga_one_hop_versions_and_the_current_one_sorted() -> None:
    assert targets.reachable(v("1.30.5"), PROFILE_1_30_5) == [
        v("1.30.5"),
        v("1.30.9"),
        v("1.30.10"),
        v("1.31.2"),
        v("1.31.4"),
    ]

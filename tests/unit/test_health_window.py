"""Where a cluster's alert window opens: its own upgrade's start, the run's start for an upgrade the
run joined, and MIN_SOAK_HOURS before the run for a cluster found already at the target."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain import health

RUN_STARTED = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)
PUT_AT = RUN_STARTED + timedelta(minutes=7)
SOAK = timedelta(hours=20)


@pytest.mark.parametrize(
    ("upgrade_started", "ours", "already_current", "opens"),
    [
        (PUT_AT, True, False, PUT_AT),  # this run's PUT: from when it went out
        (PUT_AT, False, False, RUN_STARTED),  # someone else's upgrade, joined: from what this run saw
        (None, True, False, RUN_STARTED),  # a start time lost: never later than the run
        (None, True, True, RUN_STARTED - SOAK),  # already at the target: the soak before the run
    ],
    ids=["ours", "joined", "no-start", "already-current"],
)
def test_the_alert_window_opens_where_this_run_can_vouch_for_the_cluster(
    upgrade_started: datetime | None, ours: bool, already_current: bool, opens: datetime
) -> None:
    assert health.window_start(upgrade_started, ours, already_current, RUN_STARTED, SOAK) == opens


def test_an_alert_that_failed_an_earlier_runs_check_still_blocks_a_re_check_within_the_soak() -> None:
    # The earlier run's alert fired two hours before this run: a re-check counting only from its
    # own start would promote the version the earlier check refused.
    fired = health.FiredAlert("api-5xx", "Sev1", RUN_STARTED - timedelta(hours=2), "/subscriptions/s/rg/aks1")
    since = health.window_start(None, True, True, RUN_STARTED, SOAK)

    assert health.alert_problem([fired], "/subscriptions/s/rg/aks1", since) is not None
    assert health.alert_problem([fired], "/subscriptions/s/rg/aks1", RUN_STARTED) is None  # what the window used to be


def test_the_look_back_stays_within_what_the_alerts_api_lists() -> None:
    assert health.window_start(None, True, True, RUN_STARTED, timedelta(hours=720)) == RUN_STARTED - health.LOOKBACK_LIMIT
    assert timedelta(days=30) - health.LOOKBACK_LIMIT >= timedelta(days=1)  # a day left for the run itself

"""Where a cluster's alert window opens: its own upgrade's start, the run's start for an upgrade the
run joined or a cluster that got to the target between planning and its start, and MIN_SOAK_HOURS
before the run for a cluster planned already at the target; and how far back the list can reach."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain import health
from shared.domain.upgrade_loop import FOUND_AT_TARGET
from shared.domain.upgrades import JOINED

RUN_STARTED = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)
PUT_AT = RUN_STARTED + timedelta(minutes=7)
SOAK = timedelta(hours=20)


@pytest.mark.parametrize(
    ("upgrade_started", "not_ours", "result", "opens"),
    [
        (PUT_AT, None, "upgraded", PUT_AT),  # this run's PUT: from when it went out
        (PUT_AT, JOINED, "upgraded", RUN_STARTED),  # someone else's upgrade, joined: from what this run saw
        (None, None, "upgraded", RUN_STARTED),  # a start time lost: never later than the run
        (None, FOUND_AT_TARGET, "already-current", RUN_STARTED),  # got there after planning: within this run
        (None, None, "already-current", RUN_STARTED - SOAK),  # planned at the target: the soak before the run
    ],
    ids=["ours", "joined", "no-start", "found-at-start", "planned-at-target"],
)
def test_the_alert_window_opens_where_this_run_can_vouch_for_the_cluster(
    upgrade_started: datetime | None, not_ours: str | None, result: str, opens: datetime
) -> None:
    assert health.window_start(upgrade_started, not_ours, result, RUN_STARTED, SOAK) == opens


def test_an_alert_that_failed_an_earlier_runs_check_still_blocks_a_re_check_within_the_soak() -> None:
    # The earlier run's alert fired two hours before this run: a re-check counting only from its
    # own start would promote the version the earlier check refused.
    fired = health.FiredAlert("api-5xx", "Sev1", RUN_STARTED - timedelta(hours=2), "/subscriptions/s/rg/aks1")
    since = health.window_start(None, None, "already-current", RUN_STARTED, SOAK)

    assert health.alert_problem([fired], "/subscriptions/s/rg/aks1", since) is not None
    assert health.alert_problem([fired], "/subscriptions/s/rg/aks1", RUN_STARTED) is None  # what the window used to be


def test_a_window_longer_than_the_alert_list_reaches_is_shortened_to_what_it_can_ask_for() -> None:
    # MIN_SOAK_HOURS=720 and a check a day into the run: 31 days, which the list refuses with 400
    # (a healthy cluster would fail its check on that).
    since = health.window_start(None, None, "already-current", RUN_STARTED, timedelta(hours=720))
    until = RUN_STARTED + timedelta(days=1)

    asked = health.listable(since, until)

    assert asked == (until - health.ALERT_LIST_SPAN, until)
    # the list counts 30 days back from the query: a check that runs up to a day late still fits
    assert (until + timedelta(days=1)) - asked[0] <= timedelta(days=30)


def test_a_window_the_list_can_reach_is_asked_for_as_it_is() -> None:
    until = RUN_STARTED + timedelta(hours=2)
    assert health.listable(RUN_STARTED - SOAK, until) == (RUN_STARTED - SOAK, until)
    assert health.listable(RUN_STARTED, RUN_STARTED - timedelta(minutes=1)) == (RUN_STARTED, RUN_STARTED)  # clocks apart

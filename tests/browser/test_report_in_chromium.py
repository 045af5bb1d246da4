"""The ``ops report`` page in a real browser engine: Debian's Chromium, driven by Playwright.

What the standard-library tests of the SVG cannot see: that the page renders, that every bar and
the whole legend are drawn inside the picture and on the page, with the colours of their results,
that each label fits its bar as the browser lays the text out, and that opening the page fetches
nothing but the page itself.

Needs the ``playwright`` package (requirements-browser.txt) and a Chromium (``chromium`` on PATH,
or CHROMIUM=<path>); Playwright's own browser download is not used (it cannot be fetched here).
Without them the test is skipped, unless REQUIRE_BROWSER=1 (``make browser-test``, which CI runs),
where a missing browser fails instead of passing silently.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ops import html_report
from ops import status as status_mod
from shared.domain import outlook, rollout
from shared.domain.records import AuditEntry, ValidatedRecord

NOW = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)
MON = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
PLAN = rollout.parse_plan(rollout.DEFAULT_PLAN_JSON)
#: Chromium as root, on a machine whose network is closed: no sandbox, no background traffic.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def unavailable(reason: str) -> None:
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def attempt(environment: str, cluster: str, result: str, started: datetime, reason: str | None = None) -> AuditEntry:
    return AuditEntry(
        instance_id=f"aks-upgrade-{environment}-{started.date()}",
        environment=environment,
        cluster_id=f"/subscriptions/s/resourceGroups/rg-{environment}/providers/Microsoft.ContainerService/managedClusters/{cluster}",
        from_version="1.30.5",
        to_version=None if result == "skipped" else "1.31.2",
        result=result,
        reason=reason,
        started_at=started,
        finished_at=started + timedelta(minutes=25),
        run_id=f"run-{environment}",
        run_status="failed" if environment == "dev" else "succeeded",
    )


def a_week() -> status_mod.WeekStatus:
    """Monday's lead upgraded both clusters; Tuesday dev had a failure and a skip."""
    entries = [
        attempt("sandbox", "aks-sandbox-weu-1", "upgraded", MON),
        attempt("sandbox", "aks-sandbox-weu-2", "upgraded", MON),
        attempt("dev", "aks-dev-weu-1", "upgraded", MON + timedelta(days=1)),
        attempt("dev", "aks-dev-weu-2", "failed", MON + timedelta(days=1), "UpgradeFailed: Drain of node <x> did not complete."),
        attempt("dev", "aks-dev-weu-batch", "skipped", MON + timedelta(days=1), "not running (powerState Stopped)"),
    ]
    runs = outlook.runs_from_history(entries)
    latest = outlook.last_runs(runs, PLAN.environments)
    record = ValidatedRecord("sandbox", "1.31.2", MON + timedelta(minutes=2), "aks-upgrade-sandbox-2026-11-30", ())
    names = PLAN.environments
    environments = tuple(
        status_mod.EnvironmentStatus(
            environment=wave.environment,
            role="lead" if index == 0 else "follower",
            weekday=wave.weekday,
            predecessor=PLAN.predecessor(wave.environment),
            successor=names[index + 1] if index + 1 < len(names) else None,
            record=record if wave.environment == "sandbox" else None,
            record_error=None,
            soaking=outlook.soaking(record, NOW, 20) if wave.environment == "sandbox" else None,
            last_run=latest[wave.environment],
        )
        for index, wave in enumerate(PLAN.waves)
    )
    firing = outlook.outlook_of_firing(PLAN, outlook.next_firing("0 0 10 * * 1-4", NOW), records={"dev": None}, min_soak_hours=20)
    return status_mod.WeekStatus(NOW, PLAN.timezone, 20, "0 0 10 * * 1-4", False, environments, firing, None, tuple(runs), ())


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed (pip install -r requirements-browser.txt)")
    executable = chromium_path()
    if executable is None:
        unavailable("no Chromium found (apt-get install chromium, or set CHROMIUM)")
    with sync_playwright() as playwright:
        engine = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield engine
        finally:
            engine.close()


@pytest.fixture
def page(browser: Any, tmp_path: Path) -> Iterator[Any]:
    report = tmp_path / "week.html"
    report.write_text(html_report.render(a_week(), 14), encoding="utf-8")
    tab = browser.new_page(viewport={"width": 1400, "height": 1000})
    tab.requested = []
    tab.errors = []
    tab.on("request", lambda request: tab.requested.append(request.url))
    tab.on("console", lambda message: tab.errors.append(message.text) if message.type == "error" else None)
    tab.goto(report.as_uri())
    tab.report_uri = report.as_uri()
    try:
        yield tab
    finally:
        tab.close()


def box(locator: Any) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None, "not rendered"
    return dict(found)


def inside(inner: dict[str, float], outer: dict[str, float], slack: float = 0.5) -> bool:
    return (
        inner["x"] >= outer["x"] - slack
        and inner["y"] >= outer["y"] - slack
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + slack
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + slack
    )


def test_the_page_renders_offline_and_fetches_nothing_but_itself(page: Any) -> None:
    assert page.requested == [page.report_uri]
    assert page.errors == []
    assert page.title().startswith("AKS upgrade conductor: week at a glance")
    assert page.locator("table.environments tbody tr").count() == 4
    assert page.get_by_text("next firing:").is_visible()


def test_every_bar_is_drawn_inside_the_picture_in_its_results_colour_with_its_label_inside(page: Any) -> None:
    picture = box(page.locator("svg.timeline"))
    bars = page.locator("svg.timeline g.bar")

    assert bars.count() == 5
    for index in range(bars.count()):
        bar = bars.nth(index)
        rect, label = bar.locator("rect"), bar.locator("text")
        assert rect.is_visible() and label.is_visible()
        rect_box, label_box = box(rect), box(label)
        assert rect_box["width"] > 50 and rect_box["height"] > 10
        assert inside(rect_box, picture)
        assert inside(label_box, rect_box), f"label {label.text_content()!r} overflows its bar"
        fill = rect.evaluate("element => getComputedStyle(element).fill")
        expected = html_report.colour(bar.get_attribute("data-result"))
        assert fill == "rgb({}, {}, {})".format(*(int(expected[i : i + 2], 16) for i in (1, 3, 5)))


def test_the_whole_legend_is_drawn_inside_the_picture_and_the_window(page: Any) -> None:
    picture = box(page.locator("svg.timeline"))
    items = page.locator("svg.timeline g.legend-item")

    assert items.count() >= len(html_report.LEGEND_RESULTS)
    for index in range(items.count()):
        item = box(items.nth(index))
        assert inside(item, picture), f"legend item {items.nth(index).get_attribute('data-result')} is clipped"
        assert item["x"] + item["width"] <= 1400


def test_bars_of_one_day_stand_in_one_column_and_lanes_follow_the_plan(page: Any) -> None:
    lanes = page.locator("svg.timeline g.lane")
    tops = [box(lanes.nth(i).locator("text.environment"))["y"] for i in range(lanes.count())]
    names = [lanes.nth(i).get_attribute("data-environment") for i in range(lanes.count())]
    dev_bars = page.locator('svg.timeline g.bar[data-environment="dev"] rect')

    assert names == ["sandbox", "dev", "test", "prod"] and tops == sorted(tops)
    assert len({round(box(dev_bars.nth(i))["x"]) for i in range(dev_bars.count())}) == 1

"""``ops status`` and ``ops report --html``: the week at a glance from the stores a real week wrote.

Runs go through the real orchestrator (emulator + Azurite); "now" is passed with ``--now``, taken
from the test week, never from the clock.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from ops import html_report
from ops.emulator import FaultRule
from tests.e2e.conftest import MON, TUE, Conductor, by_name, instance_id, iso

SANDBOX_CLUSTERS = ["aks-sandbox-weu-1", "aks-sandbox-weu-2"]


def utc(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def status(conductor: Conductor, now: datetime, **settings: str) -> dict[str, Any]:
    process = conductor.cli("status", "--json", "--now", now.isoformat(), **settings)
    assert process.returncode == 0, process.stderr
    return conductor.last_json(process)


def environment(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in document["environments"] if e["environment"] == name)


def test_status_after_the_leads_run_shows_its_record_its_soak_its_changes_and_what_tuesday_will_do(conductor: Conductor) -> None:
    run = conductor.run(MON)
    record = conductor.record("sandbox")
    assert run["status"] == "succeeded" and record is not None
    now = record.validated_at + timedelta(hours=3)

    document = status(conductor, now)

    assert document["now"] == now.isoformat() and document["minSoakHours"] == 20
    sandbox = environment(document, "sandbox")
    assert sandbox["record"]["version"] == "1.31.2" and sandbox["record"]["validatedAt"] == record.validated_at.isoformat()
    assert sandbox["soak"] == {
        "ageHours": 3.0,
        "soakedAt": (record.validated_at + timedelta(hours=20)).isoformat(),
        "hoursUntilSoaked": 17.0,
        "soaked": False,
    }
    assert sandbox["successor"] == "dev"
    last = sandbox["lastRun"]
    assert (last["instanceId"], last["status"]) == (instance_id("sandbox", MON), "succeeded")
    assert sorted(c["cluster"].rsplit("/", 1)[-1] for c in last["changed"]) == SANDBOX_CLUSTERS
    assert {c["to"] for c in last["changed"]} == {"1.31.2"} and last["results"] == {"upgraded": 2}
    assert environment(document, "dev")["record"] is None and environment(document, "dev")["lastRun"] is None
    # The timer fires at 10:00 UTC (UPGRADE_SCHEDULE read as UTC); Tuesday's firing runs dev, soaked by then.
    assert document["nextFiring"] == {
        "at": utc(TUE, 10).isoformat(),
        "date": iso(TUE),
        "environment": "dev",
        "role": "follower",
        "status": "act",
        "reason": None,
        "awaitsApproval": False,
        "approvalTimeoutHours": None,
    }


def test_status_says_the_next_firing_will_wait_when_the_soak_is_longer_than_the_gap(conductor: Conductor) -> None:
    conductor.run(MON)

    document = status(conductor, utc(MON, 12), MIN_SOAK_HOURS="30")

    firing = document["nextFiring"]
    assert (firing["environment"], firing["status"]) == ("dev", "skipped")
    assert "MIN_SOAK_HOURS is 30" in firing["reason"]
    assert environment(document, "sandbox")["soak"]["soaked"] is False


def test_status_of_an_empty_store_says_so_and_the_next_firing_of_a_follower_has_nothing_to_follow(conductor: Conductor) -> None:
    document = status(conductor, utc(TUE, 6))

    assert all(e["record"] is None and e["lastRun"] is None and e["soak"] is None for e in document["environments"])
    assert document["nextFiring"]["status"] == "skipped"
    assert document["nextFiring"]["reason"] == "no validated version recorded for sandbox; nothing to follow"


def test_status_for_people_is_a_table_without_colour_in_a_pipe(conductor: Conductor) -> None:
    conductor.run(MON)

    process = conductor.cli("status", "--now", utc(MON, 12).isoformat())

    assert process.returncode == 0, process.stderr
    assert "\x1b[" not in process.stdout
    assert "sandbox (lead)" in process.stdout and "1.31.2" in process.stdout and "dev may take it in" in process.stdout
    assert f"next firing: {utc(TUE, 10):%Y-%m-%d %H:%M} UTC" in process.stdout


def test_history_status_and_report_show_who_approved_a_run_and_its_status(conductor: Conductor, tmp_path: Path) -> None:
    approval = {"APPROVAL_ENVIRONMENTS": "sandbox,dev", "APPROVAL_TIMEOUT_HOURS": "12"}
    ran = conductor.cli("run", "--date", iso(MON), "--json", "--approve", "--by", "alice", "--comment", "CAB-7", **approval)
    assert ran.returncode == 0, ran.stderr
    record = conductor.record("sandbox")
    assert record is not None
    now = record.validated_at + timedelta(hours=21)  # soaked: Tuesday's firing lets dev act

    history = conductor.cli("history", "--environment", "sandbox", "--json", **approval)
    document = status(conductor, now, **approval)
    table = conductor.cli("history", "--environment", "sandbox", **approval)
    page = tmp_path / "week.html"
    drawn = conductor.cli("report", "--html", str(page), "--now", now.isoformat(), **approval)

    rows = conductor.last_json(history)
    assert len(rows) == 2
    assert {(r["runStatus"], r["decidedBy"], r["decision"], r["decisionComment"]) for r in rows} == {
        ("succeeded", "alice", "approve", "CAB-7")
    }
    last = environment(document, "sandbox")["lastRun"]
    assert (last["status"], last["decidedBy"], last["decision"], last["decisionComment"]) == ("succeeded", "alice", "approve", "CAB-7")
    firing = document["nextFiring"]
    assert (firing["environment"], firing["status"], firing["awaitsApproval"], firing["approvalTimeoutHours"]) == ("dev", "act", True, 12)
    assert table.returncode == 0 and "approved by alice: CAB-7" in table.stdout and "succeeded" in table.stdout
    assert drawn.returncode == 0, drawn.stderr
    bars = [g for g in svg_of(page.read_text(encoding="utf-8")).iter(f"{SVG}g") if g.get("class") == "bar"]
    assert len(bars) == 2
    for bar in bars:
        assert (bar.get("data-run-status"), bar.get("data-decision"), bar.get("data-decided-by")) == ("succeeded", "approve", "alice")
        assert f"run {instance_id('sandbox', MON)}: succeeded, approved by alice: CAB-7" in (bar.find(f"{SVG}title").text or "")  # type: ignore[union-attr]


def test_the_history_records_each_runs_status_with_its_rows(conductor: Conductor) -> None:
    conductor.arm.add_fault(
        FaultRule(kind="outcome", cluster="aks-sandbox-weu-2", outcome="Failed", code="UpgradeFailed", message="Drain failed.")
    )
    conductor.run(MON)

    rows = conductor.history.list("sandbox")

    assert {r.run_status for r in rows} == {"failed"} and len(rows) == 2


# -- the HTML report ---------------------------------------------------------------------------------


class Page(HTMLParser):
    """Every element of the page with its attributes, the text, and the inline SVG's source."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def a_week_with_a_failure(conductor: Conductor) -> None:
    """Monday's lead succeeds; Tuesday one dev cluster fails."""
    assert conductor.run(MON)["status"] == "succeeded"
    conductor.arm.add_fault(
        FaultRule(kind="outcome", cluster="aks-dev-weu-2", outcome="Failed", code="UpgradeFailed", message="Drain <b>failed</b>.")
    )
    tuesday = conductor.run(TUE)
    assert tuesday["status"] == "failed" and by_name(tuesday)["aks-dev-weu-2"]["result"] == "failed"


def write_report(conductor: Conductor, tmp_path: Path, now: datetime) -> str:
    page = tmp_path / "week.html"
    process = conductor.cli("report", "--html", str(page), "--now", now.isoformat())
    assert process.returncode == 0, process.stderr
    assert process.stdout.strip() == f"wrote {page}"
    return page.read_text(encoding="utf-8")


def svg_of(html: str) -> ElementTree.Element:
    start, end = html.index("<svg"), html.index("</svg>") + len("</svg>")
    return ElementTree.fromstring(html[start:end])


SVG = "{" + html_report.SVG_NAMESPACE + "}"


def test_the_report_draws_one_bar_per_cluster_attempt_coloured_by_result_by_environment_and_day(
    conductor: Conductor, tmp_path: Path
) -> None:
    a_week_with_a_failure(conductor)

    svg = svg_of(write_report(conductor, tmp_path, utc(TUE, 18)))

    bars = [g for g in svg.iter(f"{SVG}g") if g.get("class") == "bar"]
    drawn = sorted(
        (b.get("data-environment"), b.get("data-day"), b.get("data-cluster", "").rsplit("/", 1)[-1], b.get("data-result")) for b in bars
    )
    assert drawn == [
        ("dev", iso(TUE), "aks-dev-weu-1", "upgraded"),
        ("dev", iso(TUE), "aks-dev-weu-2", "failed"),
        ("sandbox", iso(MON), "aks-sandbox-weu-1", "upgraded"),
        ("sandbox", iso(MON), "aks-sandbox-weu-2", "upgraded"),
    ]
    for bar in bars:
        rect = bar.find(f"{SVG}rect")
        assert rect is not None and rect.get("fill") == html_report.COLOURS[bar.get("data-result", "")]
        title = bar.find(f"{SVG}title")
        assert title is not None and bar.get("data-cluster") in (title.text or "")
    failed = next(b for b in bars if b.get("data-result") == "failed")
    assert "Drain <b>failed</b>." in (failed.find(f"{SVG}title").text or "")  # type: ignore[union-attr]
    lanes = [g.get("data-environment") for g in svg.iter(f"{SVG}g") if g.get("class") == "lane"]
    assert lanes == ["sandbox", "dev", "test", "prod"]  # in plan order, empty lanes kept
    days = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "day"]
    assert days == [f"{MON:%a} {iso(MON)}", f"{TUE:%a} {iso(TUE)}"]


def test_the_report_has_a_legend_of_the_results_with_their_colours(conductor: Conductor, tmp_path: Path) -> None:
    a_week_with_a_failure(conductor)

    svg = svg_of(write_report(conductor, tmp_path, utc(TUE, 18)))

    legend = {
        item.get("data-result"): item.find(f"{SVG}rect").get("fill")  # type: ignore[union-attr]
        for item in svg.iter(f"{SVG}g")
        if item.get("class") == "legend-item"
    }
    assert {"upgraded", "failed", "skipped", "already-current", "planned"} <= set(legend)
    assert "stopped" not in legend  # a run status; no cluster ends a run "stopped"
    assert all(legend[result] == html_report.colour(result) for result in legend)


def test_the_report_is_one_self_contained_page_with_the_status_view(conductor: Conductor, tmp_path: Path) -> None:
    a_week_with_a_failure(conductor)

    html = write_report(conductor, tmp_path, utc(TUE, 18))

    page = Page()
    page.feed(html)
    tags = {tag for tag, _ in page.elements}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed", "image", "use"}
    for tag, attributes in page.elements:
        for name, value in attributes.items():
            assert name not in ("src", "href", "xlink:href") or not value, (tag, name, value)
            if value and "://" in value:
                assert (tag, name, value) == ("svg", "xmlns", html_report.SVG_NAMESPACE)
    assert "url(" not in html and "@import" not in html
    text = " ".join(page.text)
    assert "sandbox (lead)" in text and "dev (follower)" in text
    assert "failed" in text and "next firing:" in text
    assert "<b>failed</b>" not in html  # a reason from ARM is text, never markup


def test_the_timeline_leaves_out_runs_older_than_its_days(conductor: Conductor, tmp_path: Path) -> None:
    conductor.run(MON)
    page = tmp_path / "later.html"

    process = conductor.cli("report", "--html", str(page), "--days", "3", "--now", utc(MON + timedelta(days=10), 12).isoformat())

    assert process.returncode == 0, process.stderr
    svg = svg_of(page.read_text(encoding="utf-8"))
    assert [g for g in svg.iter(f"{SVG}g") if g.get("class") == "bar"] == []
    assert any(t.get("class") == "empty" for t in svg.iter(f"{SVG}text"))


def test_a_report_into_a_missing_folder_is_a_usage_error(conductor: Conductor, tmp_path: Path) -> None:
    process = conductor.cli("report", "--html", str(tmp_path / "no" / "such" / "week.html"))

    assert process.returncode == 2 and len(process.stderr.strip().splitlines()) == 1 and "--html" in process.stderr


def test_status_json_is_plain_json_with_every_key(conductor: Conductor) -> None:
    process = conductor.cli("status", "--json", "--now", utc(MON, 6).isoformat())

    document = json.loads(process.stdout.strip().splitlines()[-1])
    assert set(document) == {
        "now",
        "timezone",
        "minSoakHours",
        "upgradeSchedule",
        "dryRun",
        "environments",
        "nextFiring",
        "nextFiringError",
        "warnings",
    }
    assert set(document["environments"][0]) == {
        "environment",
        "role",
        "day",
        "predecessor",
        "successor",
        "record",
        "recordError",
        "soak",
        "lastRun",
    }

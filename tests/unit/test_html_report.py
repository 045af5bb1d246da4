"""The timeline picture of ``ops report`` from runs made up here (no stores): geometry, colours,
legend and escaping, checked on the SVG parsed with the standard library."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

from ops import html_report
from shared.domain import outlook, results
from shared.domain.records import AuditEntry

SVG = "{" + html_report.SVG_NAMESPACE + "}"
MON = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def attempt(
    environment: str,
    cluster: str,
    result: str,
    started: datetime,
    reason: str | None = None,
    *,
    run_status: str | None = None,
    decided: tuple[str, str, str] | None = None,
) -> AuditEntry:
    return AuditEntry(
        instance_id=f"aks-upgrade-{environment}-{started.date()}",
        environment=environment,
        cluster_id=f"/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/{cluster}",
        from_version="1.30.5",
        to_version="1.31.2",
        result=result,
        reason=reason,
        started_at=started,
        finished_at=started + timedelta(minutes=25),
        run_id="r",
        run_status=run_status or ("failed" if result == "failed" else "succeeded"),
        decided_by=decided[0] if decided else None,
        decision=decided[1] if decided else None,
        decision_comment=decided[2] if decided else None,
    )


def picture(entries: list[AuditEntry], environments: tuple[str, ...] = ("sandbox", "dev")) -> ElementTree.Element:
    runs = outlook.runs_from_history(entries)
    return ElementTree.fromstring(html_report.timeline_svg(runs, environments, "Europe/Oslo", 14))


def groups(svg: ElementTree.Element, css_class: str) -> list[ElementTree.Element]:
    return [g for g in svg.iter(f"{SVG}g") if g.get("class") == css_class]


def test_a_day_is_the_date_in_the_plans_time_zone() -> None:
    # 23:30 UTC on Monday is Tuesday in Oslo.
    svg = picture([attempt("sandbox", "aks-late", "upgraded", MON.replace(hour=23, minute=30))])

    [bar] = groups(svg, "bar")
    assert bar.get("data-day") == "2026-12-01"


def test_bars_of_one_environment_and_day_stack_without_overlapping() -> None:
    svg = picture([attempt("dev", f"aks-dev-{n}", "upgraded", MON) for n in range(5)])

    tops = sorted(float(g.find(f"{SVG}rect").get("y", "")) for g in groups(svg, "bar"))  # type: ignore[union-attr]
    assert len(tops) == 5
    assert all(later - earlier >= html_report.BAR_HEIGHT for earlier, later in itertools.pairwise(tops))


def test_every_bar_and_the_whole_legend_lie_inside_the_picture() -> None:
    svg = picture([attempt("sandbox", "aks-1", "a-result-with-a-rather-long-name", MON), attempt("dev", "aks-2", "failed", MON)])

    width, height = float(svg.get("width", "0")), float(svg.get("height", "0"))
    for bar in groups(svg, "bar"):
        rect = bar.find(f"{SVG}rect")
        assert rect is not None
        assert float(rect.get("x", "")) + float(rect.get("width", "")) <= width
        assert float(rect.get("y", "")) + float(rect.get("height", "")) <= height
    [legend] = groups(svg, "legend")
    offset = float(legend.get("transform", "").removeprefix(f"translate({html_report.LABEL_WIDTH},").rstrip(")"))
    items = groups(svg, "legend-item")
    last_text = items[-1].find(f"{SVG}text")
    assert last_text is not None
    right_end = html_report.LABEL_WIDTH + float(last_text.get("x", "")) + html_report.CHAR_WIDTH * len(last_text.text or "")
    assert right_end <= width and offset + html_report.SWATCH <= height


def test_a_label_too_long_for_its_bar_is_cut_and_the_tooltip_keeps_all_of_it() -> None:
    long_name = "aks-a-cluster-with-a-name-much-longer-than-its-bar"
    svg = picture([attempt("sandbox", long_name, "upgraded", MON)])

    [bar] = groups(svg, "bar")
    label, title, rect = bar.find(f"{SVG}text"), bar.find(f"{SVG}title"), bar.find(f"{SVG}rect")
    assert label is not None and title is not None and rect is not None
    assert (label.text or "").endswith("…")
    assert len(label.text or "") * html_report.CHAR_WIDTH <= float(rect.get("width", "")) - 5
    assert long_name in (title.text or "")


def test_a_result_the_picture_does_not_know_gets_the_neutral_colour_and_a_legend_entry() -> None:
    svg = picture([attempt("sandbox", "aks-1", "rolled-back", MON)])

    [bar] = groups(svg, "bar")
    assert bar.find(f"{SVG}rect").get("fill") == html_report.OTHER  # type: ignore[union-attr]
    assert "rolled-back" in [item.get("data-result") for item in groups(svg, "legend-item")]


def test_text_from_the_stores_is_escaped_never_markup() -> None:
    raw = html_report.timeline_svg(
        outlook.runs_from_history([attempt("sandbox", "aks-1", "failed", MON, reason='</title><script>alert("x")</script>')]),
        ("sandbox",),
        "Europe/Oslo",
        14,
    )

    assert "<script>" not in raw
    [bar] = groups(ElementTree.fromstring(raw), "bar")
    assert '<script>alert("x")</script>' in (bar.find(f"{SVG}title").text or "")  # type: ignore[union-attr]


def test_environments_outside_the_plan_get_a_lane_after_the_plans_own() -> None:
    svg = picture([attempt("legacy", "aks-old", "upgraded", MON)], environments=("sandbox", "dev"))

    assert [g.get("data-environment") for g in groups(svg, "lane")] == ["sandbox", "dev", "legacy"]


def test_a_bars_tooltip_names_the_status_of_its_run_and_who_decided_on_it() -> None:
    svg = picture(
        [
            attempt(
                "prod", "aks-p1", "skipped", MON, "approval rejected by bob: CAB", run_status="skipped", decided=("bob", "reject", "CAB")
            ),
            attempt("dev", "aks-d1", "upgraded", MON, run_status="succeeded"),
        ],
        environments=("dev", "prod"),
    )

    bars = {b.get("data-environment"): b for b in groups(svg, "bar")}
    rejected, plain = bars["prod"], bars["dev"]
    assert "run aks-upgrade-prod-2026-11-30: skipped, rejected by bob: CAB" in (rejected.find(f"{SVG}title").text or "")  # type: ignore[union-attr]
    assert (rejected.get("data-run-status"), rejected.get("data-decision"), rejected.get("data-decided-by")) == ("skipped", "reject", "bob")
    assert "run aks-upgrade-dev-2026-11-30: succeeded" in (plain.find(f"{SVG}title").text or "")  # type: ignore[union-attr]
    assert (plain.get("data-run-status"), plain.get("data-decision")) == ("succeeded", None)


def test_the_legend_shows_the_cluster_results_a_run_reports_and_no_other() -> None:
    # A stopped run is a run status; its clusters are upgraded, failed or skipped ("not started: stopped by ...").
    svg = picture([attempt("sandbox", "aks-1", "skipped", MON, "not started: stopped by eve: change freeze", run_status="stopped")])

    assert [item.get("data-result") for item in groups(svg, "legend-item")] == list(html_report.LEGEND_RESULTS)
    assert set(html_report.LEGEND_RESULTS) == set(results.RESULTS)

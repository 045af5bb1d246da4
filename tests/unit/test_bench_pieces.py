"""The benchmark's pieces without running it: the large fleet, the presets and their overrides,
the floor of the lead's requests, and the SVG charts."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter

import pytest

from ops import bench, cli, svgchart


def test_the_large_fleet_has_1000_clusters_in_50_subscriptions_and_4_locations_a_quarter_in_each_environment() -> None:
    large = bench.SIZES["large"]
    made = bench.bench_fleet(
        large.subscriptions, large.resource_groups, large.resources_per_group, large.clusters, locations=large.locations
    )
    fleet = made.fleet

    assert (len(fleet.clusters), len(fleet.subscriptions), sorted(fleet.kubernetes_versions)) == (
        1000,
        50,
        sorted(bench.LOCATIONS[:4]),
    )
    assert Counter(c.tags["environment"] for c in fleet.clusters) == Counter({"sandbox": 250, "dev": 250, "test": 250, "prod": 250})
    assert made.in_environment() == 250
    # Every subscription holds 20 clusters, spread over all four locations (5 in each).
    by_subscription = Counter((c.subscription_id, c.location) for c in fleet.clusters)
    assert set(by_subscription.values()) == {5} and len(by_subscription) == 200
    # One cluster in 50 of each environment is on long-term support.
    lts = set(made.long_term_support)
    assert Counter(c.tags["environment"] for c in fleet.clusters if c.name in lts) == Counter(
        {"sandbox": 5, "dev": 5, "test": 5, "prod": 5}
    )


def test_keeping_the_first_clusters_of_an_environment_keeps_every_other_cluster() -> None:
    made = bench.bench_fleet(2, 1, 0, 16)
    kept = made.first_in(2)
    assert kept.in_environment() == 2 and len(kept.fleet.clusters) == 16 - 4 + 2
    assert set(kept.long_term_support) <= {c.name for c in kept.fleet.clusters}


def test_the_floor_of_the_leads_requests_is_one_plus_subscriptions_plus_locations() -> None:
    assert bench.limit_requests(20, 1) == 22
    assert bench.limit_requests(50, 4) == 55


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], ("default", 20, 200, 1, (1, 5, 20), True, False)),
        (["--size", "large"], ("large", 50, 1000, 4, (20,), False, True)),
        (["--size", "large", "--subscriptions", "4", "--parallel", "5,20", "--no-throttling"], ("large", 4, 1000, 4, (5, 20), False, True)),
    ],
)
def test_a_size_fills_in_what_the_command_line_leaves_out(argv: list[str], expected: tuple[object, ...]) -> None:
    plan = bench.plan_from(cli.build_parser().parse_args(["bench", *argv]))
    assert (plan.size, plan.subscriptions, plan.clusters, plan.locations, plan.parallel, plan.memory, plan.upgrade_within_fleet) == expected
    assert plan.throttling == ("--no-throttling" not in argv)


def test_chart_ticks_are_round_and_cover_the_highest_value() -> None:
    assert svgchart.nice_ticks(671) == [0, 200, 400, 600, 800]
    assert svgchart.nice_ticks(16.18) == [0, 5, 10, 15, 20]
    assert svgchart.nice_ticks(0.44) == [0, 0.1, 0.2, 0.3, 0.4, 0.5]
    assert svgchart.nice_ticks(0) == [0.0, 1.0]


def test_a_chart_is_an_svg_document_with_a_line_and_a_legend_entry_per_series() -> None:
    svg = svgchart.line_chart(
        "ARM requests <lead>",
        "clusters",
        "requests",
        [svgchart.Series("baseline", [(50, 169), (200, 671)]), svgchart.Series("ours & co", [(50, 7), (200, 22)], dashed=True)],
    )
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert len(root.findall(f"{ns}polyline")) == 2
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert "ARM requests <lead>" in texts and "ours & co" in texts and "671" in texts

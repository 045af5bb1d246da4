"""The benchmark at a tiny size, in-process: its JSON contract and what it must show (no timing)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ops import bench, cli


def test_the_benchmark_compares_both_discoveries_and_upgrades_every_cluster_once(capsys: pytest.CaptureFixture[str]) -> None:
    args = cli.build_parser().parse_args(
        [
            "bench",
            "--subscriptions",
            "2",
            "--resource-groups",
            "3",
            "--resources-per-group",
            "2",
            "--clusters",
            "8",
            "--latency-ms",
            "0",
            "--parallel",
            "2,4",
            "--json",
        ]
    )

    code = bench.main(args)

    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0
    for side in ("baseline", "ours"):
        assert isinstance(out[side]["requests"], int) and isinstance(out[side]["wall_s"], float)
    assert {"requests_ratio", "wall_ratio"} <= out.keys()
    assert out["ours"]["requests"] < out["baseline"]["requests"]
    assert out["requests_ratio"] == pytest.approx(out["baseline"]["requests"] / out["ours"]["requests"], rel=0.01)
    assert out["samePlan"] and out["plannedClusters"] == out["sizes"]["clustersInEnvironment"] == 2

    runs = {r["parallel"]: r for r in out["upgrade"]["runs"]}
    assert set(runs) == {2, 4}
    for r in runs.values():
        assert r["status"] == "succeeded"
        assert r["puts"] == r["putsDistinct"] == r["clusters"] == out["upgrade"]["clusters"] == 8
    assert runs[4]["simulated_s"] < runs[2]["simulated_s"]

    # The quiet week: one subscription list and one cluster list per subscription, no profile read.
    quiet = out["quietFollower"]
    assert quiet["actions"] == {"already-current": 2}
    assert quiet["byKind"] == {"list subscriptions": 1, "list clusters": 2}

    # The lead plans from one version list; only its cluster on long-term support reads its profile.
    assert out["size"] == "default" and out["throttled"] == 0
    assert out["planning"]["limitRequests"] == 1 + 2 + 1
    assert out["ours"]["byKind"] == {"list subscriptions": 1, "list clusters": 2, "version list": 1, "upgrade profile": 1}


def test_the_large_size_at_a_reduced_scale_reports_its_shape_goals_and_charts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = cli.build_parser().parse_args(
        [
            "bench",
            "--size",
            "large",
            "--subscriptions",
            "4",
            "--resource-groups",
            "2",
            "--resources-per-group",
            "1",
            "--clusters",
            "40",
            "--latency-ms",
            "0",
            "--operation-minutes",
            "2",
            "--plot",
            str(tmp_path),
            "--json",
        ]
    )

    code = bench.main(args)

    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0
    assert {k: out[k] for k in ("size", "clusters", "subscriptions", "locations", "throttled")} == {
        "size": "large",
        "clusters": 40,
        "subscriptions": 4,
        "locations": 4,
        "throttled": 0,
    }
    planning = out["planning"]
    assert planning["limitRequests"] == 1 + 4 + 4
    assert (planning["versionLists"], planning["upgradeProfiles"]) == (4, 1)  # one list per location; the LTS cluster
    assert planning["requests"] == planning["limitRequests"] + 1 and isinstance(planning["wall_s"], float)
    upgrade = out["upgrade"]
    assert {k: upgrade[k] for k in ("clusters", "parallel", "simulated_minutes", "ideal_minutes")} == {
        "clusters": 10,
        "parallel": 20,
        "simulated_minutes": 2.0,
        "ideal_minutes": 2.0,
    }
    assert {name: g["met"] for name, g in out["goals"].items() if g["size"] == "large"} == {
        "throttled": True,
        "planningRequests": True,
        "upgradeTime": True,
    }
    assert [g["subscriptions"] for g in out["growth"]] == [5, 10, 20, 50]
    assert all(g["ours"]["requests"] < g["baseline"]["requests"] for g in out["growth"])

    charts = sorted(Path(p).name for p in out["plots"])
    assert charts == ["bench-requests.svg", "bench-upgrade.svg", "bench-wall.svg"]
    for name in charts:
        root = ET.parse(tmp_path / name).getroot()
        assert root.tag.endswith("svg") and len(root.findall("{http://www.w3.org/2000/svg}polyline")) >= 2
    assert max(len(line) for line in bench.render(out).splitlines()) <= 100

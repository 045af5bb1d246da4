"""The benchmark at a tiny size, in-process: its JSON contract and what it must show (no timing)."""

from __future__ import annotations

import json

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

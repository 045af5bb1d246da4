"""``python -m ops demo``: the whole week on the sample fleet, with its own emulator and Azurite."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from ops import cli
from shared import runtime
from tests.e2e.conftest import MON, iso


@pytest.fixture(autouse=True)
def fresh_services() -> Iterator[None]:
    """The demo installs services pointed at its own lab, which is gone when it returns."""
    yield
    runtime.install(None)


def test_the_demo_week_ends_with_its_json_summary_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["demo", "--week-of", iso(MON), "--json"])

    lines = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(lines[-1])
    assert code == 0
    assert [(r["environment"], r["status"]) for r in summary["week"]] == [
        ("sandbox", "succeeded"),
        ("dev", "succeeded"),
        ("test", "succeeded"),
        ("prod", "succeeded"),
    ]
    assert {env: r["version"] for env, r in summary["records"].items()} == dict.fromkeys(("sandbox", "dev", "test", "prod"), "1.31.2")
    assert any(line.startswith("version store") for line in lines[:-1])

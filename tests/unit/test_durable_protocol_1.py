"""A run under way when the app is deployed again replays, under the new code, the history the
old code wrote: the orchestrator must schedule exactly the activities and timers that history
holds, in order, or the replay fails (Azure reports non-determinism; the Python SDK feeds results
to the wrong tasks). The plans such runs stored carry no ``protocol``, so they follow protocol 1's
rules (``shared/domain/planning.PROTOCOL``). The histories are fixtures written by that release."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ops import runner
from ops.durable import history as h
from ops.durable.driver import replay

HISTORIES = Path(__file__).parents[1] / "fixtures" / "durable" / "protocol-1"


def _flat(actions: Any) -> list[dict[str, Any]]:
    flat: list[dict[str, Any]] = []
    for action in actions:
        if isinstance(action, list):
            flat += _flat(action)
        elif isinstance(action, dict) and "compoundActions" in action:
            flat += _flat(action["compoundActions"])
        else:
            flat.append(action)
    return flat


def _scheduled_in(history: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    events = sorted((e for e in history if e["EventType"] in (h.TASK_SCHEDULED, h.TIMER_CREATED)), key=lambda e: e["EventId"])
    return [("timer", None) if e["EventType"] == h.TIMER_CREATED else ("activity", e["Name"]) for e in events]


def _scheduled_by(actions: Any) -> list[tuple[str, str | None]]:
    taking = [a for a in _flat(actions) if a.get("actionType") in h.ID_TAKING_ACTIONS]
    return [("timer", None) if a["actionType"] == h.CREATE_TIMER else ("activity", a.get("functionName")) for a in taking]


@pytest.mark.parametrize("name", sorted(p.stem for p in HISTORIES.glob("*.json")))
def test_a_run_the_previous_release_wrote_replays_action_for_action_and_ends_as_it_did(name: str) -> None:
    recorded = json.loads((HISTORIES / f"{name}.json").read_text())
    history = recorded["history"]
    handle = runner.registry().orchestrators[runner.ORCHESTRATOR]

    result = replay(handle, history, recorded["input"], recorded["instanceId"])

    assert result.error is None
    assert _scheduled_by(result.actions) == _scheduled_in(history)
    assert result.is_done
    ended = json.loads(next(e for e in history if e["EventType"] == h.EXECUTION_COMPLETED)["Result"])
    assert result.output is not None
    for key in ("status", "reason", "recordedVersion", "targetVersion"):
        assert result.output[key] == ended[key], key
    assert [(c["id"], c["result"]) for c in result.output["clusters"]] == [(c["id"], c["result"]) for c in ended["clusters"]]


def test_the_fixtures_are_all_there() -> None:
    assert sorted(p.stem for p in HISTORIES.glob("*.json")) == [
        "already-current-at-start",
        "approval-first",
        "late-reject",
        "many-checks-short-poll",
    ]

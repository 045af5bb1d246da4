"""Notifications inside whole runs: one Slack message per run, and a Slack outage changes nothing."""

from __future__ import annotations

import logging

import pytest

from ops.emulator import FaultRule
from tests.e2e.conftest import MON, Conductor
from tests.plugins.slack import FakeSlackWebhook


def test_a_run_posts_one_message_with_every_cluster_and_the_target(conductor: Conductor, slack_webhook: FakeSlackWebhook) -> None:
    result = conductor.run(MON, SLACK_WEBHOOK_URL=slack_webhook.url)

    assert result["status"] == "succeeded"
    assert len(slack_webhook.messages) == 1
    text = slack_webhook.messages[0]["text"]
    assert "sandbox" in text and "1.31.2" in text
    assert "aks-sandbox-weu-1: 1.30.4 → 1.31.2 upgraded" in text


def test_a_failed_cluster_is_reported_with_armss_message(conductor: Conductor, slack_webhook: FakeSlackWebhook) -> None:
    conductor.arm.add_fault(
        FaultRule(
            kind="outcome",
            cluster="aks-sandbox-weu-1",
            outcome="Failed",
            code="UpgradeFailed",
            message="Drain of node aks-user1-7 did not complete.",
        )
    )
    conductor.run(MON, SLACK_WEBHOOK_URL=slack_webhook.url)

    assert "UpgradeFailed: Drain of node aks-user1-7 did not complete." in slack_webhook.messages[0]["text"]


@pytest.mark.parametrize("outage", ["500", "closed"])
def test_a_slack_outage_never_fails_or_blocks_the_rollout(
    conductor: Conductor, slack_webhook: FakeSlackWebhook, caplog: pytest.LogCaptureFixture, outage: str
) -> None:
    if outage == "closed":
        slack_webhook.close()
    else:
        slack_webhook.answer(500, "internal_error")
    with caplog.at_level(logging.DEBUG):
        result = conductor.run(MON, SLACK_WEBHOOK_URL=slack_webhook.url)

    assert result["status"] == "succeeded" and result["recordedVersion"] == "1.31.2"
    assert conductor.record("sandbox") is not None
    assert any("slack notification" in r.getMessage() for r in caplog.records)
    assert not any(slack_webhook.url in r.getMessage() or "s3cr3t" in r.getMessage() for r in caplog.records)

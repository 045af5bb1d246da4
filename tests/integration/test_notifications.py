"""Slack notifications through slack_sdk's real WebhookClient against a fake incoming webhook on
loopback (tests/plugins/slack.py): what is delivered, and that a Slack outage neither raises nor
leaks the webhook URL (a secret: anyone holding it can post) into the logs.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from shared import notification_text, runtime
from shared import settings as settings_mod
from shared.adapters.notifier import NullNotifier, SlackNotifier
from shared.domain.results import RunResult
from tests.plugins.slack import WEBHOOK_PATH, FakeSlackWebhook

SECRET = WEBHOOK_PATH.rsplit("/", 1)[-1]
SUB = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-dev"
ARM_FAILURE = (
    "UpgradeFailed: Drain of node aks-nodepool1-12345678-vmss000001 did not complete: "
    "pods <coredns-7d8f> & <konnectivity-agent> violate their PodDisruptionBudget."
)


def run_result(**overrides: Any) -> dict[str, Any]:
    result = {
        "instanceId": "aks-upgrade-dev-2026-12-01",
        "date": "2026-12-01",
        "environment": "dev",
        "role": "follower",
        "status": "failed",
        "reason": "1 of 2 upgrades failed",
        "targetVersion": "1.30.2",
        "recordedVersion": None,
        "clusters": [
            {
                "id": f"{SUB}/providers/Microsoft.ContainerService/managedClusters/aks-dev-1",
                "from": "1.29.4",
                "to": "1.30.2",
                "result": "upgraded",
                "reason": None,
            },
            {
                "id": f"{SUB}/providers/Microsoft.ContainerService/managedClusters/aks-dev-2",
                "from": "1.29.4",
                "to": "1.30.2",
                "result": "failed",
                "reason": ARM_FAILURE,
            },
            {
                "id": f"{SUB}/providers/Microsoft.ContainerService/managedClusters/aks-dev-3",
                "from": "1.30.2",
                "to": "1.30.2",
                "result": "already-current",
                "reason": None,
            },
            {
                "id": f"{SUB}/providers/Microsoft.ContainerService/managedClusters/aks-dev-4",
                "from": "1.29.4",
                "to": None,
                "result": "skipped",
                "reason": "stopped",
            },
        ],
    }
    result.update(overrides)
    return result


def rendered(payload: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The Slack text and blocks for a run's result JSON."""
    return notification_text.render(RunResult.from_dict(payload))


def notify_rollout(payload: Any) -> Any:
    """The NotifyRollout activity as the host calls it: JSON in, JSON out."""
    from function_app import app
    from ops.durable.registry import registry_from_app

    return registry_from_app(app).activities["NotifyRollout"](payload)


def message_texts(message: dict[str, Any]) -> list[str]:
    """The top-level text and every block's text of one posted message."""
    return [message["text"], *(b["text"]["text"] for b in message.get("blocks") or [])]


def leaked(caplog: pytest.LogCaptureFixture, fake: FakeSlackWebhook) -> list[str]:
    """Log records that carry the webhook URL (or its secret part) anywhere."""
    found = []
    for record in caplog.records:
        # The message and every attribute the record carries (logs.event sets one per field).
        shown = record.getMessage() + " " + json.dumps(vars(record), default=str)
        if fake.url in shown or SECRET in shown or WEBHOOK_PATH in shown:
            found.append(f"{record.name} {record.levelname}: {shown}")
    return found


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == logging.WARNING and r.name.startswith("aks_conductor")]


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Capture every level of every logger (slack_sdk's debug output included)."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="aks_conductor")
    return caplog


# -- delivery ---------------------------------------------------------------------------------


def test_a_run_result_is_delivered_with_versions_results_and_arms_message(
    slack_webhook: FakeSlackWebhook, all_logs: pytest.LogCaptureFixture
) -> None:
    text, blocks = rendered(run_result())

    assert SlackNotifier.from_url(slack_webhook.url).send(text, blocks) is True

    [message] = slack_webhook.messages
    assert message["blocks"] == blocks
    escaped_failure = ARM_FAILURE.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for shown in message_texts(message):
        assert "dev" in shown and "2026-12-01" in shown and "failed" in shown
        assert "target 1.30.2" in shown
        assert "1 of 2 upgrades failed" in shown
        assert "aks-dev-1: 1.29.4 → 1.30.2 upgraded" in shown
        assert f"aks-dev-2: 1.29.4 → 1.30.2 failed ({escaped_failure})" in shown
        assert "aks-dev-3: 1.30.2 → 1.30.2 already-current" in shown
        assert "aks-dev-4: 1.29.4 skipped (stopped)" in shown
        # Slack would read a raw "<coredns-7d8f>" as a link and drop it.
        assert "<" not in shown and ">" not in shown.replace("&gt;", "").replace("→", "")
    assert leaked(all_logs, slack_webhook) == []


def test_a_succeeded_run_names_the_recorded_version(slack_webhook: FakeSlackWebhook) -> None:
    result = run_result(status="succeeded", reason=None, recordedVersion="1.30.2", clusters=[run_result()["clusters"][0]])

    assert SlackNotifier.from_url(slack_webhook.url).send(*rendered(result))

    [message] = slack_webhook.messages
    assert message["text"].splitlines() == [
        "AKS upgrade dev 2026-12-01: succeeded (target 1.30.2)",
        "✅ aks-dev-1: 1.29.4 → 1.30.2 upgraded",
        "recorded 1.30.2 as validated for dev",
    ]


def test_a_large_run_fits_slacks_block_limit_at_a_line_boundary(slack_webhook: FakeSlackWebhook) -> None:
    cluster = run_result()["clusters"][1]
    clusters = [{**cluster, "id": f"{cluster['id']}-{n:03d}"} for n in range(60)]
    text, blocks = rendered(run_result(clusters=clusters))

    assert SlackNotifier.from_url(slack_webhook.url).send(text, blocks)

    [message] = slack_webhook.messages
    section = message["blocks"][0]["text"]["text"]
    assert len(section) <= 3000
    *shown, note = section.splitlines()
    assert all(line in message["text"].splitlines() for line in shown)  # whole lines only
    assert note.startswith(f"… {len(text.splitlines()) - len(shown)} more lines")
    assert len(message["text"].splitlines()) == 2 + 60  # the text keeps every cluster


# -- Slack down -------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "body"), [(500, "internal_error"), (404, "no_service"), (403, "invalid_token")])
def test_slack_refusing_returns_false_and_warns_without_the_url(
    slack_webhook: FakeSlackWebhook, all_logs: pytest.LogCaptureFixture, status: int, body: str
) -> None:
    slack_webhook.answer(status, body)

    sent = SlackNotifier.from_url(slack_webhook.url).send(*rendered(run_result()))

    assert sent is False
    assert len(slack_webhook.messages) == 1  # it was tried once
    [warning] = warnings_of(all_logs)
    assert str(status) in warning.getMessage()
    assert leaked(all_logs, slack_webhook) == []


def test_connection_refused_returns_false_and_warns_without_the_url(
    slack_webhook: FakeSlackWebhook, all_logs: pytest.LogCaptureFixture
) -> None:
    notifier = SlackNotifier.from_url(slack_webhook.url)
    slack_webhook.close()

    sent = notifier.send(*rendered(run_result()))

    assert sent is False
    assert len(warnings_of(all_logs)) == 1
    # slack_sdk itself logs its retry ("Going to retry the same request: POST <url>") at INFO.
    assert leaked(all_logs, slack_webhook) == []


def test_a_hanging_slack_times_out_and_returns_false(slack_webhook: FakeSlackWebhook, all_logs: pytest.LogCaptureFixture) -> None:
    # GIVEN a Slack that accepts the post and never answers while the test runs
    slack_webhook.hang()
    notifier = SlackNotifier.from_url(slack_webhook.url, timeout_s=1)

    sent = notifier.send(*rendered(run_result()))

    # THEN the client's own timeout ended it: False while Slack still held every post unanswered,
    # after one post (at most one retry), so a rollout never waits on Slack
    assert sent is False
    assert slack_webhook.answered == 0
    assert 1 <= len(slack_webhook.requests) <= 2
    assert len(warnings_of(all_logs)) == 1
    assert leaked(all_logs, slack_webhook) == []


# -- the NotifyRollout activity -----------------------------------------------------------------


@pytest.fixture
def services_with(slack_webhook: FakeSlackWebhook) -> Iterator[Any]:
    settings = settings_mod.load(
        {
            settings_mod.AZURE_CREDENTIAL_KIND: "emulator",
            settings_mod.ARM_ENDPOINT: "https://127.0.0.1:9",  # nothing contacts ARM here
        }
    )
    base = runtime.build(settings)

    def install(notifier: Any) -> runtime.Services:
        services = dataclasses.replace(base, notifier=notifier)
        runtime.install(services)
        return services

    try:
        yield install
    finally:
        runtime.install(None)


def test_notify_rollout_delivers_through_the_installed_notifier(slack_webhook: FakeSlackWebhook, services_with: Any) -> None:
    services_with(SlackNotifier.from_url(slack_webhook.url))

    assert notify_rollout(run_result()) == {"sent": True}
    [message] = slack_webhook.messages
    assert "aks-dev-1: 1.29.4 → 1.30.2 upgraded" in message["text"]


@pytest.mark.parametrize("outage", ["500", "404", "refused", "hang"])
def test_notify_rollout_never_raises_when_slack_is_down(
    slack_webhook: FakeSlackWebhook, services_with: Any, all_logs: pytest.LogCaptureFixture, outage: str
) -> None:
    services_with(SlackNotifier.from_url(slack_webhook.url, timeout_s=1))
    if outage == "500":
        slack_webhook.answer(500, "internal_error")
    elif outage == "404":
        slack_webhook.answer(404, "no_service")
    elif outage == "hang":
        slack_webhook.hang()
    else:
        slack_webhook.close()

    assert notify_rollout(run_result()) == {"sent": False}
    assert leaked(all_logs, slack_webhook) == []


def test_notify_rollout_through_the_registered_activity(slack_webhook: FakeSlackWebhook, services_with: Any) -> None:
    from function_app import app
    from ops.durable.registry import registry_from_app

    services_with(SlackNotifier.from_url(slack_webhook.url))
    activity = registry_from_app(app).activities["NotifyRollout"]

    assert activity(run_result(status="succeeded")) == {"sent": True}
    assert slack_webhook.messages[0]["text"].startswith("AKS upgrade dev 2026-12-01: succeeded")


@pytest.mark.parametrize("payload", [{}, {"clusters": None}, {"clusters": [{}]}, None, "junk"])
def test_notify_rollout_never_raises_on_an_odd_payload(slack_webhook: FakeSlackWebhook, services_with: Any, payload: Any) -> None:
    services_with(SlackNotifier.from_url(slack_webhook.url))

    outcome = notify_rollout(payload)

    assert outcome in ({"sent": True}, {"sent": False})


def test_without_a_webhook_nothing_is_sent(slack_webhook: FakeSlackWebhook, services_with: Any) -> None:
    services_with(NullNotifier())

    assert notify_rollout(run_result()) == {"sent": False}
    assert slack_webhook.messages == []

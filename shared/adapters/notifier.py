"""Slack notifications through slack_sdk's WebhookClient; a notification never fails a rollout.

The webhook URL is a secret (anyone holding it can post): it is never logged, and errors are
reported without it.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from slack_sdk.webhook import WebhookClient

from shared import logs


class _RedactUrls(logging.Filter):
    """slack_sdk logs the webhook URL itself (every request at DEBUG, each connection retry at
    INFO): strip every URL from what its logger emits, before any handler sees it (the webhook
    may live on any host, so not only Slack's)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = logs.redact(record.getMessage(), every_url=True)
        record.args = None
        return True


def _sdk_logger() -> logging.Logger:
    sdk = logging.getLogger(f"{logs.LOGGER_NAME}.slack_sdk")
    if not any(isinstance(f, _RedactUrls) for f in sdk.filters):
        sdk.addFilter(_RedactUrls())
    return sdk


class Notifier(Protocol):
    def send(self, text: str, blocks: list[dict[str, Any]] | None = None) -> bool:
        """Deliver one message; return False (never raise) when it could not be delivered."""


class NullNotifier:
    """No SLACK_WEBHOOK_URL: notifications are off."""

    def send(self, text: str, blocks: list[dict[str, Any]] | None = None) -> bool:
        return False


class SlackNotifier:
    def __init__(self, client: WebhookClient) -> None:
        self._client = client

    @classmethod
    def from_url(cls, url: str, timeout_s: int = 10) -> SlackNotifier:
        return cls(WebhookClient(url, timeout=timeout_s, logger=_sdk_logger()))

    def send(self, text: str, blocks: list[dict[str, Any]] | None = None) -> bool:
        try:
            response = self._client.send(text=text, blocks=blocks)
        except Exception as exc:  # noqa: BLE001 - any failure to notify is logged, never raised
            logs.event(logging.WARNING, "slack notification failed", error=type(exc).__name__)
            return False
        if response.status_code != 200:
            logs.event(logging.WARNING, "slack notification refused", status=response.status_code)
            return False
        return True

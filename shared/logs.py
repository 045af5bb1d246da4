"""Structured log lines that carry environment, cluster id and instance id.

Fields go both into the message (readable in the Functions log stream) and into ``extra``
(queryable as customDimensions in Application Insights). Callers never pass secrets or URLs
that embed credentials (webhooks, SAS); :func:`redact` is the last line of defence for error text,
and the one place that knows what a secret looks like: every log line, every audit error and
every store error message goes through it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

LOGGER_NAME = "aks_conductor"

#: A Slack incoming webhook: the path is the secret (anyone holding it can post).
_SLACK_WEBHOOK = re.compile(r"(?i)https?://hooks\.slack\.com/\S+")
_ANY_URL = re.compile(r"(?i)https?://\S+")
#: A query string: a SAS token lives there (azure-core messages quote request URLs).
_QUERY = re.compile(r"\?[^\s'\"]+")
#: Connection-string secrets and a SAS (whole, up to the next ``;``) or its signature (up to ``&``).
_KEY_VALUE = re.compile(r"(?i)(AccountKey|SharedAccessSignature)=[^;\s]+")
_SIGNATURE = re.compile(r"(?i)(sig)=[^&\s]+")


def logger() -> logging.Logger:
    return logging.getLogger(LOGGER_NAME)


def redact(text: str, *, every_url: bool = False) -> str:
    """``text`` (an exception, a log line) without the secrets it may carry: Slack webhook URLs,
    query strings (SAS tokens), storage account keys, SAS tokens and signatures.

    ``every_url`` also removes every other http(s) URL whole, for text that exists to show the
    webhook, which may live on any host (slack_sdk's own log lines).
    """
    text = (_ANY_URL if every_url else _SLACK_WEBHOOK).sub("[url redacted]", text)
    text = _QUERY.sub("?[redacted]", text)
    text = _KEY_VALUE.sub(r"\1=[redacted]", text)
    return _SIGNATURE.sub(r"\1=[redacted]", text)


def event(level: int, message: str, **fields: Any) -> None:
    """Log ``message`` with key=value fields (environment=, cluster_id=, instance_id=, ...)."""
    shown = " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
    logger().log(level, redact(f"{message} {shown}".strip()), extra={"conductor": fields})

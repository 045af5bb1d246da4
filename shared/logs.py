"""Structured log lines that carry environment, cluster id and instance id.

Fields go both into the message (readable in the Functions log stream) and into ``extra``
(queryable as customDimensions in Application Insights). Callers never pass secrets or URLs
that embed credentials (webhooks, SAS); ``redact`` is the last line of defence for error text.
"""

from __future__ import annotations

import logging
import re
from typing import Any

LOGGER_NAME = "aks_conductor"
_SECRETISH = re.compile(r"(https://hooks\.slack\.com/\S+|AccountKey=[^;\s]+|sig=[^&\s]+|SharedAccessSignature=[^;\s]+)")


def logger() -> logging.Logger:
    return logging.getLogger(LOGGER_NAME)


def redact(text: str) -> str:
    """Strip webhook URLs, account keys and SAS signatures from free text (e.g. an exception)."""
    return _SECRETISH.sub("[redacted]", text)


def event(level: int, message: str, **fields: Any) -> None:
    """Log ``message`` with key=value fields (environment=, cluster_id=, instance_id=, ...)."""
    shown = " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
    logger().log(level, redact(f"{message} {shown}".strip()), extra={"conductor": fields})

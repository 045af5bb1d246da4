"""Structured log lines that carry environment, cluster id and instance id.

Fields go both into the message (readable in the Functions log stream) and onto the log record
as attributes of their own (``record.environment``, ``record.cluster_id``, ...). The Python
worker forwards only a record's level, message and category to the host, so the attributes reach
Application Insights through OpenTelemetry instead (``shared/adapters/telemetry.py``), as
customDimensions of every trace.

:func:`bound` names the run and cluster a piece of work belongs to (an activity binds them from
its input): every log line inside it carries them even when the call site does not repeat them,
and so does every span started inside it (the telemetry adapter copies them onto spans).

Callers never pass secrets or URLs that embed credentials (webhooks, SAS); :func:`redact` is the
last line of defence for error text, and the one place that knows what a secret looks like: every
log line, every attribute, every audit error and every store error message goes through it.
"""

from __future__ import annotations

import contextvars
import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from types import MappingProxyType
from typing import Any

from opentelemetry import trace

LOGGER_NAME = "aks_conductor"
#: The fields every line and span carries when known: what Application Insights queries filter on.
CONTEXT_FIELDS = ("environment", "cluster_id", "instance_id")

#: A Slack incoming webhook: the path is the secret (anyone holding it can post).
_SLACK_WEBHOOK = re.compile(r"(?i)https?://hooks\.slack\.com/\S+")
_ANY_URL = re.compile(r"(?i)https?://\S+")
#: A query string: a SAS token lives there (azure-core messages quote request URLs).
_QUERY = re.compile(r"\?[^\s'\"]+")
#: Connection-string secrets and a SAS (whole, up to the next ``;``) or its signature (up to ``&``).
_KEY_VALUE = re.compile(r"(?i)(AccountKey|SharedAccessSignature)=[^;\s]+")
_SIGNATURE = re.compile(r"(?i)(sig)=[^&\s]+")
#: Attribute names a LogRecord already uses: a field of the same name is stored as ``field_<name>``.
_RESERVED = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}

_NOTHING_BOUND: Mapping[str, str] = MappingProxyType({})
_bound: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar("aks_conductor_log_context", default=_NOTHING_BOUND)


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


def _attribute(value: Any) -> str | int | float | bool:
    """A value an OpenTelemetry attribute can hold; text redacted like the message."""
    if isinstance(value, bool | int | float):
        return value
    return redact(str(value))


def _attributes(fields: Mapping[str, Any]) -> dict[str, str | int | float | bool]:
    return {k: _attribute(v) for k, v in fields.items() if v is not None}


def current() -> dict[str, str]:
    """The fields bound by the enclosing :func:`bound` blocks."""
    return dict(_bound.get())


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """Every log line and span inside the block carries ``fields`` (None values are left out).

    Also sets them on the span that is current when the block starts (the function invocation's,
    in the Functions host), which began before anyone knew which run it served.
    """
    merged = {**_bound.get(), **{k: str(_attribute(v)) for k, v in fields.items() if v is not None}}
    token = _bound.set(merged)
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes(merged)
    try:
        yield
    finally:
        _bound.reset(token)


def bound_to_payload(payload: Any) -> AbstractContextManager[None]:
    """:func:`bound` to the run an activity's input names: its ``instanceId``, ``environment`` and
    cluster (``cluster.id``), also inside a nested run ``result`` or ``plan``. Unknown shapes bind
    nothing."""
    data: Mapping[str, Any] = payload if isinstance(payload, Mapping) else {}
    result: Mapping[str, Any] = data["result"] if isinstance(data.get("result"), Mapping) else {}
    plan: Mapping[str, Any] = data["plan"] if isinstance(data.get("plan"), Mapping) else {}
    cluster: Mapping[str, Any] = data["cluster"] if isinstance(data.get("cluster"), Mapping) else {}
    return bound(
        instance_id=data.get("instanceId") or result.get("instanceId"),
        environment=data.get("environment") or result.get("environment") or plan.get("environment"),
        cluster_id=cluster.get("id"),
    )


def event(level: int, message: str, **fields: Any) -> None:
    """Log ``message`` with key=value fields (environment=, cluster_id=, instance_id=, ...).

    The fields bound by :func:`bound` come first, the call's own win; each becomes an attribute of
    the record (redacted, None left out), and the readable message lists them all.
    """
    merged: dict[str, Any] = {**_bound.get(), **{k: v for k, v in fields.items() if v is not None}}
    shown = " ".join(f"{k}={v}" for k, v in merged.items())
    extra = {(f"field_{k}" if k in _RESERVED else k): v for k, v in _attributes(merged).items()}
    logger().log(level, redact(f"{message} {shown}".strip()), extra=extra)

"""Logs and spans to Application Insights through OpenTelemetry (azure-monitor-opentelemetry).

Why: the Python worker forwards only a log record's level, message and category to the Functions
host, so the fields ``shared.logs`` attaches to a record (``environment``, ``cluster_id``,
``instance_id``, ...) never become customDimensions on that path. Exported through OpenTelemetry
from the worker itself, every record of the ``aks_conductor`` logger arrives as a trace with its
attributes as customDimensions, and every span (the Azure SDK's calls to ARM and Table Storage,
``requests``) carries the fields bound by ``logs.bound`` as attributes
(:class:`ConductorSpanAttributes`).

When: once per process, in the Functions host only (the host sets ``FUNCTIONS_WORKER_RUNTIME``),
and only when ``APPLICATIONINSIGHTS_CONNECTION_STRING`` is set (terraform sets it from the
component). Tests and ``ops`` never configure it: they set neither variable, and nothing but
``runtime.services()`` (the host's path) calls :func:`configure`.

How it authenticates: Application Insights has local (key) authentication disabled, so the
exporter sends with the process's one credential (the app's managed identity, which holds
"Monitoring Metrics Publisher" on the component).

The host keeps sending its own telemetry (requests, durable lifecycle events, and each log line's
message through the worker) as before; the OpenTelemetry copy of a log line is the one with
customDimensions: ``traces | where isnotempty(customDimensions.instance_id)``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from azure.core.credentials import TokenCredential
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from shared import logs

APPLICATIONINSIGHTS_CONNECTION_STRING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
#: Set by the Functions host for its workers (and by `func start` from local.settings.json).
FUNCTIONS_WORKER_RUNTIME = "FUNCTIONS_WORKER_RUNTIME"

_lock = threading.Lock()
_configured = False


class ConductorSpanAttributes(SpanProcessor):
    """Copies the fields bound by ``logs.bound`` (environment, cluster_id, instance_id) onto every
    span as it starts, so a slow ARM call in Application Insights names the run and cluster it served."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        fields = logs.current()
        if fields:
            span.set_attributes(fields)

    def on_end(self, span: ReadableSpan) -> None:
        pass

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def wanted(environ: Mapping[str, str]) -> bool:
    """Only inside the Functions host, and only with a connection string to send to."""
    return bool(environ.get(APPLICATIONINSIGHTS_CONNECTION_STRING, "").strip()) and bool(environ.get(FUNCTIONS_WORKER_RUNTIME, "").strip())


def configure(environ: Mapping[str, str], credential: TokenCredential | Any) -> bool:
    """Send the ``aks_conductor`` logs and every span to Application Insights, once per process.

    Returns whether telemetry is configured (False when :func:`wanted` says no). A second call does
    nothing: configuring twice would attach a second handler and export every line twice.
    """
    global _configured
    with _lock:
        if _configured:
            return True
        if not wanted(environ):
            return False
        from azure.monitor.opentelemetry import configure_azure_monitor

        configure_azure_monitor(
            connection_string=environ[APPLICATIONINSIGHTS_CONNECTION_STRING].strip(),
            credential=credential,
            logger_name=logs.LOGGER_NAME,
            span_processors=[ConductorSpanAttributes()],
        )
        _configured = True
        return True

"""Telemetry: every log line and span carries environment, cluster_id and instance_id as attributes,
without secrets, and telemetry is configured once, only in the Functions host with a connection string.

The log and span tests run the OpenTelemetry SDK's own logging handler and span processors with
its in-memory exporters: what they export is what azure-monitor-opentelemetry would send as
customDimensions (it attaches the same handler to the ``aks_conductor`` logger).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import logging
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared import logs
from shared.activity_messages import ApprovalNotice
from shared.adapters import telemetry
from shared.domain.planning import EnvironmentPlan

REPO = Path(__file__).resolve().parents[2]
CLUSTER = "/subscriptions/0000/resourceGroups/rg-aks-prod/providers/Microsoft.ContainerService/managedClusters/aks-prod-1"
INSTANCE = "aks-upgrade-prod-2026-12-03"
SECRETS = ("c2VjcmV0LWtleQ==", "sv=2024&sig=abcdef", "T000/B000/XXXXXXXX")
ERROR_WITH_SECRETS = (
    "upload failed: AccountKey=c2VjcmV0LWtleQ==; https://st.table.core.windows.net/t?sv=2024&sig=abcdef "
    "posting to https://hooks.slack.com/services/T000/B000/XXXXXXXX"
)


@pytest.fixture
def exported_logs() -> Iterator[InMemoryLogRecordExporter]:
    """The SDK's logging handler on the conductor's logger, as the distro attaches it."""
    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    with warnings.catch_warnings():  # newer SDKs point to the same handler in opentelemetry-instrumentation-logging
        warnings.simplefilter("ignore", DeprecationWarning)
        handler = LoggingHandler(level=logging.INFO, logger_provider=provider)
    logger = logs.logger()
    previous_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield exporter
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
        provider.shutdown()


def attributes_of(exporter: InMemoryLogRecordExporter) -> list[dict[str, object]]:
    return [dict(data.log_record.attributes or {}) for data in exporter.get_finished_logs()]


def test_a_log_line_carries_environment_cluster_and_instance_as_attributes(exported_logs: InMemoryLogRecordExporter) -> None:
    logs.event(logging.INFO, "upgrade started", environment="prod", cluster_id=CLUSTER, instance_id=INSTANCE, attempt=2)

    [attributes] = attributes_of(exported_logs)
    assert attributes["environment"] == "prod"
    assert attributes["cluster_id"] == CLUSTER
    assert attributes["instance_id"] == INSTANCE
    assert attributes["attempt"] == 2


def test_a_log_line_inside_a_bound_run_carries_the_run_without_repeating_it(exported_logs: InMemoryLogRecordExporter) -> None:
    with logs.bound(environment="prod", instance_id=INSTANCE), logs.bound(cluster_id=CLUSTER):
        logs.event(logging.WARNING, "slack notification refused", status=500)
    logs.event(logging.INFO, "after the run")

    inside, after = attributes_of(exported_logs)
    assert (inside["environment"], inside["instance_id"], inside["cluster_id"], inside["status"]) == ("prod", INSTANCE, CLUSTER, 500)
    assert "instance_id" not in after and "environment" not in after


def test_no_secret_reaches_an_attribute_or_the_message(exported_logs: InMemoryLogRecordExporter) -> None:
    with logs.bound(environment="prod", instance_id=INSTANCE):
        logs.event(logging.ERROR, "could not write upgrade history", error=ERROR_WITH_SECRETS)

    [data] = exported_logs.get_finished_logs()
    shown = json.dumps({"body": str(data.log_record.body), "attributes": dict(data.log_record.attributes or {})})
    assert "could not write upgrade history" in shown and "[redacted]" in shown
    for secret in SECRETS:
        assert secret not in shown


def test_a_field_named_like_a_log_record_attribute_is_kept_under_its_own_name(exported_logs: InMemoryLogRecordExporter) -> None:
    logs.event(logging.INFO, "odd field", environment="dev", name="aks-dev-1")

    [attributes] = attributes_of(exported_logs)
    assert attributes["field_name"] == "aks-dev-1" and attributes["environment"] == "dev"


def test_every_span_started_in_a_bound_run_carries_it_and_so_does_the_span_it_started_in() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(telemetry.ConductorSpanAttributes())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")

    # The invocation's span begins before the run is known; the ARM call's span begins inside it.
    with (
        tracer.start_as_current_span("StartClusterUpgrade"),
        logs.bound(environment="prod", instance_id=INSTANCE, cluster_id=CLUSTER),
        tracer.start_as_current_span("PUT managedClusters"),
    ):
        pass
    with tracer.start_as_current_span("unrelated"):
        pass

    spans = {span.name: dict(span.attributes or {}) for span in exporter.get_finished_spans()}
    expected = {"environment": "prod", "instance_id": INSTANCE, "cluster_id": CLUSTER}
    assert spans["PUT managedClusters"] == expected
    assert spans["StartClusterUpgrade"] == expected
    assert spans["unrelated"] == {}


def test_an_activity_input_binds_its_run_and_cluster() -> None:
    start = {"cluster": {"id": CLUSTER, "to": "1.31.2"}, "instanceId": INSTANCE, "environment": "prod", "clock": "x"}
    history = {"instanceId": INSTANCE, "environment": "prod", "status": "succeeded", "clusters": [], "runId": "r"}

    with logs.bound_to_payload(start):
        bound_start = logs.current()
    with logs.bound_to_payload(history):
        bound_history = logs.current()
    with logs.bound_to_payload(None):
        bound_nothing = logs.current()

    assert bound_start == {"instance_id": INSTANCE, "environment": "prod", "cluster_id": CLUSTER}
    assert bound_history == {"instance_id": INSTANCE, "environment": "prod"}
    assert bound_nothing == {}


# -- when telemetry is configured ------------------------------------------------------------------
@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"FUNCTIONS_WORKER_RUNTIME": "python"},  # the host, without Application Insights
        {"APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=00000000-0000-0000-0000-000000000000"},  # a shell, not the host
        {"APPLICATIONINSIGHTS_CONNECTION_STRING": "  ", "FUNCTIONS_WORKER_RUNTIME": "python"},
    ],
    ids=["nothing", "host-without-connection-string", "connection-string-outside-the-host", "blank-connection-string"],
)
def test_telemetry_is_not_configured_outside_the_host_or_without_a_connection_string(environ: dict[str, str]) -> None:
    assert telemetry.wanted(environ) is False
    assert telemetry.configure(environ, credential=None) is False


_CONFIGURE_TWICE = """
import json, logging
from shared import logs
from shared.adapters import telemetry
environ = {
    "APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://127.0.0.1:9/",
    "FUNCTIONS_WORKER_RUNTIME": "python",
}
first = telemetry.configure(environ, credential=None)
second = telemetry.configure(environ, credential=None)
handlers = [type(h).__name__ for h in logs.logger().handlers]
print(json.dumps({"first": first, "second": second, "handlers": handlers}))
"""


def test_in_the_host_with_a_connection_string_telemetry_is_configured_once_on_the_conductors_logger() -> None:
    """In a process of its own: the distro instruments the whole process and cannot be undone.

    azure-monitor-opentelemetry is a runtime dependency pinned in requirements.lock, so an
    environment without it is broken, and this test says so instead of skipping.
    """
    try:
        distro = importlib.util.find_spec("azure.monitor.opentelemetry")
    except ModuleNotFoundError:  # no azure.monitor package at all
        distro = None
    assert distro is not None, "azure-monitor-opentelemetry (requirements.lock) is not installed"

    process = subprocess.run([sys.executable, "-c", _CONFIGURE_TWICE], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert process.returncode == 0, process.stderr

    outcome = json.loads(process.stdout.strip().splitlines()[-1])
    assert outcome["first"] is True and outcome["second"] is True
    assert outcome["handlers"] == ["LoggingHandler"]


def test_concurrent_reads_of_an_activity_keep_its_bound_run() -> None:
    from shared.activities import common

    with logs.bound(environment="prod", instance_id=INSTANCE):
        seen = common.parallel(lambda n: (n, logs.current()), range(6))

    assert [n for n, _ in seen] == list(range(6))
    assert all(fields == {"environment": "prod", "instance_id": INSTANCE} for _, fields in seen)


def activity_folders() -> list[Path]:
    """Function folders whose blueprint registers an activity (``@bp.activity_trigger``)."""
    return sorted(p.parent for p in REPO.glob("*/__init__.py") if "activity_trigger" in p.read_text(encoding="utf-8"))


#: LoadRolloutSettings' input is empty: there is no run to bind yet.
UNBOUND_ACTIVITIES = {"LoadRolloutSettings"}


@pytest.mark.parametrize("folder", [p.name for p in activity_folders()])
def test_every_activity_binds_the_run_its_input_names_around_its_work(folder: str) -> None:
    tree = ast.parse((REPO / folder / "__init__.py").read_text(encoding="utf-8"))
    [function] = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    first = function.body[0]
    binds = (
        isinstance(first, ast.With)
        and isinstance(call := first.items[0].context_expr, ast.Call)
        and ast.unparse(call.func) == "logs.bound_to_payload"
    )
    assert binds or folder in UNBOUND_ACTIVITIES, f"{folder} does not bind its run: its lines and spans lose environment and instance_id"


def test_the_activity_folders_are_found() -> None:
    assert {"CheckClusterHealth", "RequestApproval", "StartClusterUpgrade", "LoadRolloutSettings"} <= {p.name for p in activity_folders()}


def test_an_approval_request_binds_the_environment_of_its_plan() -> None:
    notice = ApprovalNotice(EnvironmentPlan("prod", "follower", "ready", None, "1.31.2"), "2026-12-03", INSTANCE, 24)

    with logs.bound_to_payload(notice.to_dict()):
        bound = logs.current()

    assert bound == {"instance_id": INSTANCE, "environment": "prod"}

"""The module's alerts (terraform/main.alerts.tf), read with python-hcl2, against the app's real log lines.

Without Azure nothing can evaluate the rules, so these tests pin what decides whether they work:
- they exist only with an email receiver, reach the receivers, and query the app's workspace with
  their own identity, which can read that workspace and nothing else;
- no rule looks back further than Azure Monitor allows (two days), and the dead-man's switch still
  adds up to eight days (two seen in the workspace, six more of the two-day alert firing);
- the failed-run query's prefixes and ``status=`` extraction, run with Python's ``re`` (the same
  syntax as KQL's RE2 for these patterns), pick the right status out of the lines the app really
  logs: NotifyRollout's "run finished" line and TimerStarter's refusal on invalid settings;
- an orchestrator that itself fails writes no "run finished" line; the query also matches the
  Durable Task extension's trace of that failure (its format string is quoted below from the
  extension's source), takes the instance id from it, calls it "failed" and reads the environment
  out of the instance id.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import textwrap
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, get_args

import pytest

from shared import orchestration, runtime, starters
from shared import settings as settings_mod
from shared.activities.records import RUN_FINISHED
from shared.adapters.notifier import NullNotifier
from shared.domain.results import Status
from tests.terraform.hcl import MODULE_DIR, Expr, Module, block, load_module

RULE = "azurerm_monitor_scheduled_query_rules_alert_v2"
RULES = ("run_failed", "no_run_2_days", "no_run_8_days")
NOTIFYING_RULES = ("run_failed", "no_run_8_days")
ALERTS_IDENTITY = "azurerm_user_assigned_identity.alerts"
WORKSPACE_ID = Expr("azurerm_log_analytics_workspace.this.id")
ONLY_WITH_RECEIVERS = Expr("local.alerts_enabled ? 1 : 0")

# Azure Monitor's limits for log search alert rules (azurerm's validation of the same API).
LONGEST_LOOKBACK = timedelta(days=2)
EVALUATION_FREQUENCIES = {"PT1M", "PT5M", "PT10M", "PT15M", "PT30M", "PT45M", "PT1H", "PT2H", "PT3H", "PT4H", "PT5H", "PT6H", "P1D"}
LONGEST_STATEFUL_FREQUENCY = timedelta(hours=12)


@pytest.fixture(scope="module")
def module() -> Module:
    return load_module()


def rule(module: Module, name: str) -> dict[str, Any]:
    return module.resource(RULE, name)


def duration(text: str) -> timedelta:
    """An ISO 8601 duration as the rules use them: PT15M, PT1H, P2D."""
    match = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?", text)
    assert match and text not in ("P", "PT"), f"not a duration: {text!r}"
    days, hours, minutes = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes)


def literal(module: Module, value: Any) -> Any:
    """``value`` with ``${local.x}`` filled in where x is a literal local (the window of the two-day rule)."""
    if not isinstance(value, Expr):
        return value
    text = re.sub(r"\$\{local\.(\w+)\}", lambda m: str(module.locals[m.group(1)]), value.text)
    return text if "${" not in text else Expr(text)


def query(module: Module, name: str) -> str:
    """A rule's KQL: the heredoc of its local, with the literal locals it interpolates filled in."""
    heredoc = module.locals[name]
    assert isinstance(heredoc, Expr) and heredoc.text.startswith("<<-QUERY\n")
    body = textwrap.dedent(heredoc.text.removeprefix("<<-QUERY\n").rsplit("\n", 1)[0])

    def fill(match: re.Match[str]) -> str:
        value = module.locals[match.group(1)]
        return value if isinstance(value, str) else match.group(0)

    return re.sub(r"\$\{local\.(\w+)\}", fill, body)


def prefixes(kql: str) -> list[str]:
    return re.findall(r'Message startswith "([^"]+)"', kql)


def field_regex(kql: str, field: str) -> re.Pattern[str]:
    """The verbatim regex the query extracts ``field`` with, e.g. ``(?:^|\\s)status=(\\S+)``."""
    match = re.search(rf'extract\(@"([^"]*{field}=[^"]*)", 1, Message\)', kql)
    assert match, f"the query does not extract {field} from the message"
    return re.compile(match.group(1))


def contained(kql: str) -> list[str]:
    """The phrases the query matches anywhere in a message (``Message contains "..."``)."""
    return re.findall(r'Message contains "([^"]+)"', kql)


def selected(kql: str, message: str) -> bool:
    """Whether the query's first ``where`` keeps ``message`` (KQL's startswith and contains ignore case)."""
    lowered = message.lower()
    return any(lowered.startswith(p.lower()) for p in prefixes(kql)) or any(p.lower() in lowered for p in contained(kql))


def extraction(kql: str, source: str, containing: str) -> re.Pattern[str]:
    """The verbatim regex of the query's ``extract(@"...", 1, <source>)`` whose pattern holds ``containing``."""
    found = [
        pattern for pattern, column in re.findall(r'extract\(@"([^"]*)", 1, (\w+)\)', kql) if column == source and containing in pattern
    ]
    assert len(found) == 1, f"the query extracts from {source} with {len(found)} patterns holding {containing!r}"
    return re.compile(found[0])


def alerting_statuses(module: Module) -> list[str]:
    statuses = module.locals["alerting_run_statuses"]
    assert isinstance(statuses, list)
    return statuses


# --- which resources, for whom ------------------------------------------------------------------


def test_nothing_about_alerts_is_created_without_an_email_receiver(module: Module) -> None:
    assert module.variables["alert_email_receivers"]["default"] == []
    assert module.locals["alerts_enabled"] == Expr("length(var.alert_email_receivers) > 0")
    declared = re.findall(r'^resource "(\w+)" "(\w+)"', (MODULE_DIR / "main.alerts.tf").read_text(), re.MULTILINE)
    assert len(declared) == 6
    for type_, name in declared:
        assert module.resource(type_, name)["count"] == ONLY_WITH_RECEIVERS, f"{type_}.{name} exists without receivers"


def test_the_action_group_emails_every_receiver_with_the_common_alert_schema(module: Module) -> None:
    group = module.resource("azurerm_monitor_action_group", "alerts")
    [dynamic] = group["dynamic"]
    receivers = dynamic["email_receiver"]
    assert receivers["for_each"] == Expr("var.alert_email_receivers")
    [content] = receivers["content"]
    assert content == {
        "name": Expr("email_receiver.value.name"),
        "email_address": Expr("email_receiver.value.email_address"),
        "use_common_alert_schema": True,
    }
    # Azure's limit for the short name, which emails show as their sender.
    assert group["short_name"] == Expr("substr(var.name, 0, 12)")


@pytest.mark.parametrize("name", RULES)
def test_every_rule_queries_the_apps_workspace_with_the_alerts_own_identity(module: Module, name: str) -> None:
    body = rule(module, name)
    assert body["scopes"] == [WORKSPACE_ID]
    identity = block(body, "identity")
    assert identity == {"type": "UserAssigned", "identity_ids": [Expr(f"{ALERTS_IDENTITY}[0].id")]}
    # The role must be in place before Azure first evaluates the rule.
    assert body["depends_on"] == [Expr("azurerm_role_assignment.alerts_log_analytics_reader")]


def test_the_alerts_identity_can_read_the_workspace_and_nothing_else(module: Module) -> None:
    held = {
        name: body
        for name, body in module.resources_of("azurerm_role_assignment").items()
        if isinstance(body["principal_id"], Expr) and body["principal_id"].refers_to(f"{ALERTS_IDENTITY}[0].principal_id")
    }
    assert set(held) == {"alerts_log_analytics_reader"}
    reader = held["alerts_log_analytics_reader"]
    assert reader["role_definition_name"] == "Log Analytics Reader"
    assert reader["scope"] == WORKSPACE_ID


@pytest.mark.parametrize(("name", "severity"), [("run_failed", 2), ("no_run_2_days", 4), ("no_run_8_days", 1)])
def test_failed_runs_and_the_dead_mans_switch_email_the_receivers_and_the_two_day_step_nobody(
    module: Module, name: str, severity: int
) -> None:
    body = rule(module, name)
    assert body["severity"] == severity
    if name in NOTIFYING_RULES:
        assert block(body, "action")["action_groups"] == [Expr("azurerm_monitor_action_group.alerts[0].id")]
    else:
        assert "action" not in body


# --- Azure Monitor's limits and the eight days --------------------------------------------------


@pytest.mark.parametrize("name", RULES)
def test_no_rule_looks_back_further_than_azure_monitor_allows(module: Module, name: str) -> None:
    body = rule(module, name)
    window = duration(literal(module, body["window_duration"]))
    frequency = body["evaluation_frequency"]
    assert frequency in EVALUATION_FREQUENCIES
    assert duration(frequency) <= window <= LONGEST_LOOKBACK
    if "query_time_range_override" in body:
        assert window <= duration(literal(module, body["query_time_range_override"])) <= LONGEST_LOOKBACK
    if body.get("auto_mitigation_enabled"):
        assert duration(frequency) <= LONGEST_STATEFUL_FREQUENCY, "Azure rejects stateful rules evaluated less often"


def test_the_two_day_step_fires_on_silence_and_stays_fired_until_a_run_finishes(module: Module) -> None:
    body = rule(module, "no_run_2_days")
    assert module.locals["silence_days_in_workspace"] == 2
    assert literal(module, body["window_duration"]) == "P2D"
    assert body["auto_mitigation_enabled"] is True  # stateful: its start time is when the silence reached two days
    criteria = block(body, "criteria")
    assert (criteria["time_aggregation_method"], criteria["operator"], criteria["threshold"]) == ("Count", "LessThan", 1)
    assert query(module, "no_run_2_days_query") == f'AppTraces\n| where Message startswith "{RUN_FINISHED}"'


def test_the_dead_mans_switch_fires_when_the_two_day_alert_has_fired_for_six_more_days(module: Module) -> None:
    assert module.locals["dead_mans_switch_days"] == 8
    assert module.locals["dead_mans_switch_days"] - module.locals["silence_days_in_workspace"] == 6
    kql = query(module, "no_run_8_days_query")
    assert kql.startswith('arg("").alertsmanagementresources\n')
    assert "azurerm_monitor_scheduled_query_rules_alert_v2.no_run_2_days[*].id" in kql
    assert "${local.no_run_2_days_rule_name}" in kql
    assert rule(module, "no_run_2_days")["name"] == Expr("local.no_run_2_days_rule_name")
    assert 'tostring(properties.essentials.monitorCondition) == "Fired"' in kql
    assert "<= ago(${local.dead_mans_switch_days - local.silence_days_in_workspace}d)" in kql
    criteria = block(rule(module, "no_run_8_days"), "criteria")
    assert (criteria["time_aggregation_method"], criteria["operator"], criteria["threshold"]) == ("Count", "GreaterThan", 0)


# --- the failed-run query against the app's real log lines --------------------------------------


def test_the_alerting_statuses_are_statuses_a_run_ends_with(module: Module) -> None:
    assert alerting_statuses(module) == ["failed", "stopped"]
    # "stopped" is the status of a run someone stopped through POST .../stop, added with that endpoint.
    assert set(alerting_statuses(module)) - {"stopped"} <= set(get_args(Status))
    kql = query(module, "run_failed_query")
    assert "for status in concat(local.alerting_run_statuses" in kql


def test_the_failed_run_alert_is_one_alert_per_run(module: Module) -> None:
    body = rule(module, "run_failed")
    assert body["auto_mitigation_enabled"] is True
    criteria = block(body, "criteria")
    assert {d["name"] for d in criteria["dimension"]} == {"environment", "instance_id", "status"}
    assert (criteria["time_aggregation_method"], criteria["operator"], criteria["threshold"]) == ("Count", "GreaterThan", 0)
    # A window longer than the frequency still sees a line that reached the workspace late.
    assert duration(body["window_duration"]) > duration(body["evaluation_frequency"])


@pytest.fixture
def null_notifier_services() -> Iterator[None]:
    settings = settings_mod.load({settings_mod.AZURE_CREDENTIAL_KIND: "emulator", settings_mod.ARM_ENDPOINT: "https://127.0.0.1:9"})
    runtime.install(dataclasses.replace(runtime.build(settings), notifier=NullNotifier()))
    try:
        yield
    finally:
        runtime.install(None)


def notify_rollout(payload: dict[str, Any]) -> Any:
    """The NotifyRollout activity as the host calls it: JSON in, JSON out."""
    from function_app import app
    from ops.durable.registry import registry_from_app

    return registry_from_app(app).activities["NotifyRollout"](payload)


def conductor_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("aks_conductor")]


@pytest.mark.parametrize(
    ("status", "reason", "alerts"),
    [
        ("failed", "1 of 2 upgrades failed; status=succeeded was expected", True),
        ("succeeded", None, False),
        ("skipped", "frozen: 2026-12-24 is in FREEZE_DATES", False),
        ("nothing-to-do", "no eligible cluster in dev", False),
    ],
)
def test_the_failed_run_query_reads_the_status_from_the_line_notify_rollout_logs(
    module: Module,
    caplog: pytest.LogCaptureFixture,
    null_notifier_services: None,
    status: str,
    reason: str | None,
    alerts: bool,
) -> None:
    caplog.set_level(logging.INFO, logger="aks_conductor")
    result = {
        "instanceId": "aks-upgrade-dev-2026-12-01",
        "date": "2026-12-01",
        "environment": "dev",
        "role": "follower",
        "status": status,
        "reason": reason,
    }

    notify_rollout(result)

    kql = query(module, "run_failed_query")
    [line] = [m for m in conductor_messages(caplog) if m.lower().startswith(tuple(p.lower() for p in prefixes(kql)))]
    assert line.startswith(RUN_FINISHED)
    found = {field: field_regex(kql, field).search(line) for field in ("status", "environment", "instance_id")}
    assert {field: m.group(1) if m else None for field, m in found.items()} == {
        "status": status,
        "environment": "dev",
        "instance_id": "aks-upgrade-dev-2026-12-01",
    }
    assert (status in alerting_statuses(module)) is alerts


def test_the_failed_run_alert_also_fires_when_the_timer_refuses_to_start_on_invalid_settings(
    module: Module, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, logger="aks_conductor")
    monkeypatch.setenv(settings_mod.MAX_PARALLEL_UPGRADES, "0")

    # The refusal comes before the timer uses its durable client, so it needs none.
    outcome = asyncio.run(starters.timer_start({"Next": "2026-11-30T10:00:00Z"}, None))  # type: ignore[arg-type]

    assert outcome == "refused"
    kql = query(module, "run_failed_query")
    refusal = module.locals["timer_refused_message"]
    assert refusal in prefixes(kql)
    assert [m for m in conductor_messages(caplog) if m.startswith(refusal)], "the timer logged no refusal the alert matches"
    # Its line carries no status=; the query names it "refused" and alerts on that status.
    assert 'case(refused, "refused",' in kql
    assert 'concat(local.alerting_run_statuses, ["refused"])' in kql


# --- an orchestrator that itself fails ------------------------------------------------------------

#: The Durable Task extension's trace when a function fails, as its source logs it
#: (Azure/azure-functions-durable-extension, src/WebJobs.Extensions.DurableTask/EndToEndTraceHelper.cs,
#: FunctionFailed, ``logger.LogError``; the category is Host.Triggers.DurableTask).
DURABLE_FUNCTION_FAILED = (
    "{instanceId}: Function '{functionName} ({functionType})' failed with an error. Reason: {reason}. IsReplay: {isReplay}. "
    "State: {state}. RuntimeStatus: {runtimeStatus}. HubName: {hubName}. AppName: {appName}. SlotName: {slotName}. "
    "ExtensionVersion: {extensionVersion}. SequenceNumber: {sequenceNumber}. TaskEventId: {taskEventId}"
)
#: The reason as the extension logs it by default (SanitizeException: the exception's type, a new
#: line, its stack trace), so the message runs over several lines.
SANITIZED_REASON = (
    "DurableTask.Core.Exceptions.OrchestrationFailureException\n"
    "   at Microsoft.Azure.WebJobs.Extensions.DurableTask.OutOfProcOrchestrationShim.HandleDurableTaskReplay(...)"
)


def durable_trace(instance_id: str, function_name: str, function_type: str) -> str:
    """The message the extension's logger formats: each placeholder filled with its value."""
    values = {
        "instanceId": instance_id,
        "functionName": function_name,
        "functionType": function_type,
        "reason": SANITIZED_REASON,
        "isReplay": "False",
        "state": "Failed",
        "runtimeStatus": "Failed",
        "hubName": "AksUpgradeConductor",
        "appName": "func-aksupg-prod",
        "slotName": "",
        "extensionVersion": "2.13.7",
        "sequenceNumber": "42",
        "taskEventId": "-1",
    }
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], DURABLE_FUNCTION_FAILED)


def test_the_orchestrator_the_query_names_is_the_apps_own_and_the_phrase_is_the_extensions() -> None:
    from function_app import app
    from ops.durable.registry import registry_from_app

    module = load_module()
    name = module.locals["orchestrator_function"]
    assert name in registry_from_app(app).orchestrators
    phrase = DURABLE_FUNCTION_FAILED.split(": ", 1)[1].split(" Reason:", 1)[0]
    assert contained(query(module, "run_failed_query")) == [phrase.format(functionName=name, functionType="Orchestrator")]


@pytest.mark.parametrize(
    ("instance_id", "environment"),
    [
        (orchestration.instance_id_for("prod", "2026-12-03"), "prod"),
        (orchestration.instance_id_for("pre-prod_2", "2026-12-03", dry_run=True), "pre-prod_2"),
        (orchestration.instance_id_for(None, "2026-12-05"), "none"),
        ("a-run-started-by-hand", "none"),  # not the app's shape: no environment to name
    ],
)
def test_an_orchestrator_that_itself_fails_is_alerted_as_failed_from_the_extensions_trace(
    module: Module, instance_id: str, environment: str
) -> None:
    kql = query(module, "run_failed_query")
    line = durable_trace(instance_id, module.locals["orchestrator_function"], "Orchestrator")

    assert selected(kql, line)
    crashed = extraction(kql, "Message", "Orchestrator").search(line)
    assert crashed is not None and crashed.group(1) == instance_id
    # Its status is "failed", which alerts, whatever the reason's text holds.
    assert 'case(refused, "refused", crashed, "failed",' in kql and "failed" in alerting_statuses(module)
    assert "iff(crashed, crashed_instance_id," in kql
    named = extraction(kql, "instance_id", "aks-upgrade-").search(instance_id)
    assert (named.group(1) if named else "none") == environment
    assert 'iff(crashed, coalesce(extract(@"^aks-upgrade-' in kql and '1, instance_id), "none")' in kql


@pytest.mark.parametrize(
    ("function_name", "function_type"),
    [("StartClusterUpgrade", "Activity"), ("CheckUpgradeProgress", "Activity"), ("SomeOtherOrchestrator", "Orchestrator")],
)
def test_a_failed_activity_or_another_orchestrator_is_left_to_the_run_that_reports_it(
    module: Module, function_name: str, function_type: str
) -> None:
    # A failed activity is retried, and the run's own "run finished" line reports what it cost.
    line = durable_trace(orchestration.instance_id_for("prod", "2026-12-03"), function_name, function_type)

    assert not selected(query(module, "run_failed_query"), line)

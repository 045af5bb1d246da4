# Alerts on the app's own runs, sent by email through one action group.
#
# Every run the orchestrator concludes writes exactly one log line whose
# message starts with "run finished" and carries status=, environment=,
# instance_id= and reason= (NotifyRollout, also for dry runs). The Functions host sends it to the workspace-based
# Application Insights of main.monitoring.tf, so it lands in the workspace's
# AppTraces table. The queries read each field from Properties (custom
# dimensions, when the exporter sends the log record's attributes) and fall
# back to the message text, which always carries `status=<value>`: the alerts
# work with either telemetry path.
#
# An orchestrator that itself fails (an unhandled exception, or a replay that
# no longer matches its history after a deploy mid-run) never reaches
# NotifyRollout, so it writes no "run finished" line. The Durable Task
# extension traces that failure under the category Host.Triggers.DurableTask,
# which host.json logs at Information; the failed-run alert matches that
# trace too. Its format string (Azure/azure-functions-durable-extension,
# src/WebJobs.Extensions.DurableTask/EndToEndTraceHelper.cs, FunctionFailed,
# logged at Error):
#   "{instanceId}: Function '{functionName} ({functionType})' failed with an
#   error. Reason: {reason}. IsReplay: {isReplay}. State: {state}.
#   RuntimeStatus: {runtimeStatus}. HubName: {hubName}. AppName: {appName}.
#   SlotName: {slotName}. ExtensionVersion: {extensionVersion}.
#   SequenceNumber: {sequenceNumber}. TaskEventId: {taskEventId}"
# For the orchestrator, functionName is UpgradeOrchestrator and functionType
# Orchestrator (TaskOrchestrationShim traces it, also for out-of-process
# orchestrators such as this Python one). The query takes the instance id from
# the start of the message, names the status "failed", and reads the
# environment out of the instance id (aks-upgrade-<env>-<date>[-dry-run]),
# "none" when the id has another shape. A failed activity is not matched: it
# is retried, and the run reports it in its own "run finished" line. The
# extension writes the trace only for a failure outside a replay
# (EndToEndTraceHelper.ShouldLogEvent: unless tracing.traceReplayEvents is on,
# which multiplies the host's traces), so a failure while the host replays the
# history is not seen here (the next environment's run is then skipped for
# want of a record, which alerts nobody).
#
# Everything here exists only when `alert_email_receivers` names someone: an
# alert that reaches nobody only costs money and hides the fact that nobody
# is watching.
#
# The alerts target the Log Analytics workspace, never a cluster, so they are
# not among the Sev0/Sev1 alerts on a cluster that HEALTH_CHECK=arm+alerts
# reads to fail an upgrade.
#
# Lookback limit. A log search alert looks back at most two days:
# `window_duration` and `query_time_range_override` accept at most P2D
# (hashicorp/terraform-provider-azurerm, website/docs/r/monitor_scheduled_query_rules_alert_v2),
# and the rule's time range bounds the data whatever the query says: "The alert
# time range is limited to a maximum of two days. Even if the query contains
# an ago command with a time range of longer than two days, the two-day
# maximum time range is applied. For example, even if the query text contains
# ago(7d), the query only scans up to two days of data." (Microsoft Learn,
# "Create or edit a log search alert rule", Override query time range). So no
# query over AppTraces can see eight days of silence. The dead-man's switch
# therefore keeps its memory in alert state:
#   1. no_run_2_days (no notifications) fires once no run has finished for
#      two days, and stays fired (stateful) until a run finishes again;
#   2. no_run_8_days reads, through Azure Resource Graph, whether that alert
#      has been firing for six more days: 2 + 6 = 8 days without a finished
#      run. Resource Graph data carries no time column, so the two-day bound
#      does not apply to it ("Identifying the Timestamp column in the cluster
#      isn't supported. The Log Analytics Query API won't pass the time
#      filter.", Microsoft Learn, "Correlate data in Azure Data Explorer and
#      Azure Resource Graph with data in a Log Analytics workspace").

locals {
  alerts_enabled = length(var.alert_email_receivers) > 0

  # The one line each finished run writes (shared/activities/records.py, RUN_FINISHED).
  run_finished_message = "run finished"
  # TimerStarter's line when invalid settings make it refuse the week's run (shared/starters.py).
  timer_refused_message = "timer: refusing to start"
  # The orchestrator function (UpgradeOrchestrator/__init__.py) whose own failure the Durable Task
  # extension traces as "<instance id>: Function 'UpgradeOrchestrator (Orchestrator)' failed with an error. ..."
  orchestrator_function = "UpgradeOrchestrator"
  # Run statuses that need a person: the run failed, or someone stopped it.
  alerting_run_statuses = ["failed", "stopped"]

  # The 8-day switch = 2 days of silence seen in the workspace + 6 days of that alert firing.
  silence_days_in_workspace = 2
  dead_mans_switch_days     = 8
  no_run_2_days_rule_name   = "alert-${var.name}-no-run-${local.silence_days_in_workspace}d"

  run_failed_query = <<-QUERY
    AppTraces
    | where Message startswith "${local.run_finished_message}" or Message startswith "${local.timer_refused_message}" or Message contains "Function '${local.orchestrator_function} (Orchestrator)' failed with an error."
    | extend refused = Message startswith "${local.timer_refused_message}"
    | extend crashed_instance_id = extract(@"^(\S+): Function '${local.orchestrator_function} \(Orchestrator\)' failed with an error\.", 1, Message)
    | extend crashed = isnotempty(crashed_instance_id)
    | extend status = case(refused, "refused", crashed, "failed", coalesce(tostring(Properties["status"]), extract(@"(?:^|\s)status=(\S+)", 1, Message)))
    | where status in (${join(", ", [for status in concat(local.alerting_run_statuses, ["refused"]) : "\"${status}\""])})
    | extend instance_id = iff(crashed, crashed_instance_id, coalesce(tostring(Properties["instance_id"]), extract(@"(?:^|\s)instance_id=(\S+)", 1, Message), "none"))
    | extend environment = iff(crashed, coalesce(extract(@"^aks-upgrade-(.+)-\d{4}-\d{2}-\d{2}(?:-dry-run)?$", 1, instance_id), "none"), coalesce(tostring(Properties["environment"]), extract(@"(?:^|\s)environment=(\S+)", 1, Message), "none"))
    | project TimeGenerated, environment, instance_id, status, Message
    QUERY

  no_run_2_days_query = <<-QUERY
    AppTraces
    | where Message startswith "${local.run_finished_message}"
    QUERY

  no_run_8_days_query = <<-QUERY
    arg("").alertsmanagementresources
    | where type =~ "microsoft.alertsmanagement/alerts"
    | extend rule = tostring(properties.essentials.alertRule)
    | where rule =~ "${join("", azurerm_monitor_scheduled_query_rules_alert_v2.no_run_2_days[*].id)}" or rule =~ "${local.no_run_2_days_rule_name}"
    | where tostring(properties.essentials.monitorCondition) == "Fired"
    | extend two_days_silent_at = todatetime(properties.essentials.startDateTime)
    | where two_days_silent_at <= ago(${local.dead_mans_switch_days - local.silence_days_in_workspace}d)
    | project two_days_silent_at
    QUERY
}

resource "azurerm_monitor_action_group" "alerts" {
  count = local.alerts_enabled ? 1 : 0

  name                = "ag-${var.name}"
  resource_group_name = var.resource_group_name
  # Shown as the sender of the emails; at most 12 characters.
  short_name = substr(var.name, 0, 12)
  tags       = var.tags

  dynamic "email_receiver" {
    for_each = var.alert_email_receivers

    content {
      name                    = email_receiver.value.name
      email_address           = email_receiver.value.email_address
      use_common_alert_schema = true
    }
  }
}

# The rules query with their own identity, not with the permissions of whoever
# last applied them: a rule that silently loses access is a switch that never
# fires. It reads the workspace (and, through Resource Graph, the alerts on
# it) and nothing else; the app's identity gets no log access.
resource "azurerm_user_assigned_identity" "alerts" {
  count = local.alerts_enabled ? 1 : 0

  name                = "id-${var.name}-alerts"
  resource_group_name = var.resource_group_name
  location            = var.location
  tags                = var.tags
}

resource "azurerm_role_assignment" "alerts_log_analytics_reader" {
  count = local.alerts_enabled ? 1 : 0

  scope                            = azurerm_log_analytics_workspace.this.id
  role_definition_name             = "Log Analytics Reader"
  principal_id                     = azurerm_user_assigned_identity.alerts[0].principal_id
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = true
  description                      = "Alert rules of func-${var.name}: query the app's logs and read the alerts fired on this workspace."
}

# A run ended failed or stopped, its orchestrator itself failed (the Durable
# Task extension's trace, above), or the timer refused to start the week's run
# because the settings are invalid. Every 15 minutes over the last hour: a
# weekly job needs no faster answer than a quarter of an hour, and the
# overlapping hour still sees a line that reached the workspace late. Split by
# run (instance_id) and stateful, so each run raises one alert however many
# evaluations see its line; the alert resolves itself about two hours later,
# which only means the line has left the window. Severity 2 (warning): nothing
# was recorded, so later environments hold; someone should look today, but
# nobody needs waking.
resource "azurerm_monitor_scheduled_query_rules_alert_v2" "run_failed" {
  count = local.alerts_enabled ? 1 : 0

  name                 = "alert-${var.name}-run-failed"
  display_name         = "AKS upgrade run failed or stopped (${var.name})"
  description          = "An AKS upgrade run of func-${var.name} ended failed or stopped, its orchestrator failed (an unhandled error), or its timer refused to start because the settings are invalid. Nothing was recorded for that environment, so the next environment will not upgrade. See the run's reason in the alert dimensions and docs/deployment.md, \"Alerts\"."
  resource_group_name  = var.resource_group_name
  location             = var.location
  scopes               = [azurerm_log_analytics_workspace.this.id]
  severity             = 2
  evaluation_frequency = "PT15M"
  window_duration      = "PT1H"
  # The first apply comes before any telemetry exists to validate against.
  skip_query_validation   = true
  auto_mitigation_enabled = true
  tags                    = var.tags

  criteria {
    query                   = local.run_failed_query
    time_aggregation_method = "Count"
    operator                = "GreaterThan"
    threshold               = 0

    dimension {
      name     = "environment"
      operator = "Include"
      values   = ["*"]
    }

    dimension {
      name     = "instance_id"
      operator = "Include"
      values   = ["*"]
    }

    dimension {
      name     = "status"
      operator = "Include"
      values   = ["*"]
    }

    failing_periods {
      minimum_failing_periods_to_trigger_alert = 1
      number_of_evaluation_periods             = 1
    }
  }

  action {
    action_groups = [azurerm_monitor_action_group.alerts[0].id]
  }

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.alerts[0].id]
  }

  depends_on = [azurerm_role_assignment.alerts_log_analytics_reader]
}

# Step 1 of the dead-man's switch: no run has finished for two days (the most
# a log search alert can look back). That alone is normal (a plan with runs
# Monday to Thursday is silent from Thursday to Monday), so this rule notifies
# nobody: severity 4 (verbose), no action group. It is stateful, so it fires
# once when the silence reaches two days and stays fired until a run finishes
# again; its start time is when the silence began plus two days. Evaluated
# hourly: the switch below is then at most an hour late.
resource "azurerm_monitor_scheduled_query_rules_alert_v2" "no_run_2_days" {
  count = local.alerts_enabled ? 1 : 0

  name                    = local.no_run_2_days_rule_name
  display_name            = "No AKS upgrade run finished for 2 days (${var.name}; feeds the 8-day switch)"
  description             = "No AKS upgrade run of func-${var.name} has finished for two days. Normal over a weekend; it notifies nobody. The 8-day dead-man's switch (alert-${var.name}-no-run-8d) fires when this alert has been firing for six more days."
  resource_group_name     = var.resource_group_name
  location                = var.location
  scopes                  = [azurerm_log_analytics_workspace.this.id]
  severity                = 4
  evaluation_frequency    = "PT1H"
  window_duration         = "P${local.silence_days_in_workspace}D"
  skip_query_validation   = true
  auto_mitigation_enabled = true
  tags                    = var.tags

  criteria {
    query                   = local.no_run_2_days_query
    time_aggregation_method = "Count"
    operator                = "LessThan"
    threshold               = 1

    failing_periods {
      minimum_failing_periods_to_trigger_alert = 1
      number_of_evaluation_periods             = 1
    }
  }

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.alerts[0].id]
  }

  depends_on = [azurerm_role_assignment.alerts_log_analytics_reader]
}

# Step 2, the dead-man's switch: no run has finished for eight days, i.e. the
# two-day alert above has been firing for six days. A weekly job that stayed
# silent for a whole week and a day is not running: the host, the timer, the
# deployment or the identity is broken, and neither Slack nor the failed-run
# alert can say so. Severity 1 (error). Stateful: it resolves itself (and says
# so by email) within a few hours after a run finishes again.
# Resource Graph queries from a log search alert need a managed identity, and
# Azure Monitor does not report their errors; docs/deployment.md ("Alerts")
# shows how to check once that this rule sees the two-day alert.
resource "azurerm_monitor_scheduled_query_rules_alert_v2" "no_run_8_days" {
  count = local.alerts_enabled ? 1 : 0

  name                 = "alert-${var.name}-no-run-8d"
  display_name         = "No AKS upgrade run finished for 8 days (${var.name}; dead-man's switch)"
  description          = "No AKS upgrade run of func-${var.name} has finished for eight days: the weekly upgrades are not running. Check the function app, its timer and its settings, then start a run by hand; see docs/deployment.md, \"Alerts\"."
  resource_group_name  = var.resource_group_name
  location             = var.location
  scopes               = [azurerm_log_analytics_workspace.this.id]
  severity             = 1
  evaluation_frequency = "PT1H"
  window_duration      = "PT1H"
  # The Log Analytics validator marks valid Resource Graph queries as errors.
  skip_query_validation   = true
  auto_mitigation_enabled = true
  tags                    = var.tags

  criteria {
    query                   = local.no_run_8_days_query
    time_aggregation_method = "Count"
    operator                = "GreaterThan"
    threshold               = 0

    failing_periods {
      minimum_failing_periods_to_trigger_alert = 1
      number_of_evaluation_periods             = 1
    }
  }

  action {
    action_groups = [azurerm_monitor_action_group.alerts[0].id]
  }

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.alerts[0].id]
  }

  depends_on = [azurerm_role_assignment.alerts_log_analytics_reader]
}

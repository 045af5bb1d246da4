# Offline tests of the input validations and of security-relevant values. Mock providers: no Azure credentials or network calls at plan time,
# but `terraform init` must still download the azurerm provider schema, e.g.
#   terraform -chdir=terraform init -backend=false && terraform -chdir=terraform test

mock_provider "azurerm" {
  mock_data "azurerm_client_config" {
    defaults = {
      tenant_id = "00000000-0000-0000-0000-000000000000"
    }
  }
}

variables {
  name                = "aksupg-test"
  resource_group_name = "rg-aksupg-test"
  location            = "westeurope"
  target_scopes = [
    "/subscriptions/11111111-1111-1111-1111-111111111111",
    "/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rg-aks-prod",
  ]
}

run "defaults_apply_cleanly" {
  # apply against the mock provider, so computed attributes have values.
  command = apply

  assert {
    condition     = azurerm_linux_function_app.this.https_only == true
    error_message = "The function app must be HTTPS only."
  }

  assert {
    condition     = length(azurerm_role_assignment.conductor) == 2
    error_message = "The custom role must be assigned once per target scope."
  }

  assert {
    condition     = azurerm_linux_function_app.this.app_settings["SUBSCRIPTION_IDS"] == "11111111-1111-1111-1111-111111111111,22222222-2222-2222-2222-222222222222"
    error_message = "SUBSCRIPTION_IDS must default to the subscriptions of target_scopes."
  }

  assert {
    condition     = azurerm_linux_function_app.this.app_settings["SLACK_WEBHOOK_URL"] == ""
    error_message = "Without slack_notifications_enabled, SLACK_WEBHOOK_URL must be empty."
  }

  assert {
    condition = (
      azurerm_linux_function_app.this.app_settings["APPROVAL_ENVIRONMENTS"] == "" &&
      azurerm_linux_function_app.this.app_settings["APPROVAL_TIMEOUT_HOURS"] == "24" &&
      azurerm_linux_function_app.this.app_settings["HEALTH_CHECK"] == "arm" &&
      azurerm_linux_function_app.this.app_settings["HEALTH_SETTLE_MINUTES"] == "10"
    )
    error_message = "The promotion-gate settings must default to the app's defaults (no approvals, 24 h, arm, 10 min)."
  }

  assert {
    condition     = !contains(azurerm_role_definition.conductor.permissions[0].actions, "Microsoft.AlertsManagement/alerts/read")
    error_message = "With HEALTH_CHECK=arm the custom role must not read alerts."
  }

  assert {
    condition     = length(azurerm_monitor_action_group.alerts) == 0 && length(azurerm_monitor_scheduled_query_rules_alert_v2.run_failed) == 0 && length(azurerm_monitor_scheduled_query_rules_alert_v2.no_run_8_days) == 0
    error_message = "Without alert_email_receivers there must be no action group and no alert rule."
  }

  assert {
    condition     = length(output.alert_rule_ids) == 0 && output.action_group_id == null
    error_message = "Without alert_email_receivers the alert outputs must be empty."
  }
}

run "promotion_gate_settings_reach_the_app" {
  command = plan

  variables {
    approval_environments  = ["test", "prod"]
    approval_timeout_hours = 48
    health_check           = "arm+alerts"
    health_settle_minutes  = 15
  }

  assert {
    condition = (
      azurerm_linux_function_app.this.app_settings["APPROVAL_ENVIRONMENTS"] == "test,prod" &&
      azurerm_linux_function_app.this.app_settings["APPROVAL_TIMEOUT_HOURS"] == "48" &&
      azurerm_linux_function_app.this.app_settings["HEALTH_CHECK"] == "arm+alerts" &&
      azurerm_linux_function_app.this.app_settings["HEALTH_SETTLE_MINUTES"] == "15"
    )
    error_message = "The promotion-gate variables must become APPROVAL_ENVIRONMENTS, APPROVAL_TIMEOUT_HOURS, HEALTH_CHECK and HEALTH_SETTLE_MINUTES."
  }

  assert {
    condition     = contains(azurerm_role_definition.conductor.permissions[0].actions, "Microsoft.AlertsManagement/alerts/read")
    error_message = "With HEALTH_CHECK=arm+alerts the custom role must read the alerts fired on the clusters."
  }
}

run "alerts_email_the_receivers" {
  command = apply

  variables {
    alert_email_receivers = [
      { name = "platform-team", email_address = "platform-team@example.com" },
      { name = "on-call", email_address = "on-call@example.com" },
    ]
  }

  assert {
    condition     = length(azurerm_monitor_action_group.alerts[0].email_receiver) == 2
    error_message = "The action group must email every receiver."
  }

  assert {
    condition = alltrue([
      for rule in [
        azurerm_monitor_scheduled_query_rules_alert_v2.run_failed[0],
        azurerm_monitor_scheduled_query_rules_alert_v2.no_run_2_days[0],
        azurerm_monitor_scheduled_query_rules_alert_v2.no_run_8_days[0],
      ] : rule.scopes == tolist([azurerm_log_analytics_workspace.this.id])
    ])
    error_message = "Every alert rule must query the app's workspace."
  }

  assert {
    condition     = strcontains(azurerm_monitor_scheduled_query_rules_alert_v2.no_run_8_days[0].criteria[0].query, azurerm_monitor_scheduled_query_rules_alert_v2.no_run_2_days[0].id)
    error_message = "The 8-day switch must read the state of the 2-day alert."
  }

  assert {
    condition     = strcontains(azurerm_monitor_scheduled_query_rules_alert_v2.no_run_8_days[0].criteria[0].query, "ago(6d)")
    error_message = "The 8-day switch must wait six days after the two-day alert fired."
  }

  assert {
    condition     = keys(output.alert_rule_ids) == tolist(["no_run_2_days", "no_run_8_days", "run_failed"])
    error_message = "alert_rule_ids must name the three rules."
  }
}

run "rejects_an_approval_environment_outside_the_plan" {
  command = plan

  variables {
    approval_environments = ["production"]
  }

  expect_failures = [var.approval_environments]
}

run "rejects_an_approval_timeout_beyond_six_days" {
  command = plan

  variables {
    approval_timeout_hours = 145
  }

  expect_failures = [var.approval_timeout_hours]
}

run "rejects_an_unknown_health_check" {
  command = plan

  variables {
    health_check = "alerts"
  }

  expect_failures = [var.health_check]
}

run "rejects_a_settle_time_over_a_day" {
  command = plan

  variables {
    health_settle_minutes = 1441
  }

  expect_failures = [var.health_settle_minutes]
}

run "rejects_a_settle_time_not_shorter_than_the_upgrade_timeout" {
  command = plan

  variables {
    upgrade_timeout_minutes = 30
    health_settle_minutes   = 30
  }

  expect_failures = [var.health_settle_minutes]
}

run "rejects_an_alert_receiver_without_an_email_address" {
  command = plan

  variables {
    alert_email_receivers = [{ name = "platform-team", email_address = "platform-team" }]
  }

  expect_failures = [var.alert_email_receivers]
}

run "rejects_two_alert_receivers_with_one_name" {
  command = plan

  variables {
    alert_email_receivers = [
      { name = "platform-team", email_address = "a@example.com" },
      { name = "Platform-Team", email_address = "b@example.com" },
    ]
  }

  expect_failures = [var.alert_email_receivers]
}

run "rejects_a_wildcard_scope" {
  command = plan

  variables {
    target_scopes = ["/subscriptions/*"]
  }

  expect_failures = [var.target_scopes]
}

run "rejects_a_management_group_scope" {
  command = plan

  variables {
    target_scopes = ["/providers/Microsoft.Management/managementGroups/platform"]
  }

  expect_failures = [var.target_scopes]
}

run "rejects_no_scope_at_all" {
  command = plan

  variables {
    target_scopes = []
  }

  expect_failures = [var.target_scopes]
}

run "rejects_an_unknown_target_policy" {
  command = plan

  variables {
    target_policy = "newest"
  }

  expect_failures = [var.target_policy]
}

run "rejects_a_schedule_with_a_wildcard_hour" {
  command = plan

  variables {
    upgrade_schedule = "0 0 * * * 1-4"
  }

  expect_failures = [var.upgrade_schedule]
}

run "rejects_an_environment_in_two_waves" {
  command = plan

  variables {
    rollout_plan = {
      timezone = "UTC"
      waves = [
        { day = "Mon", environment = "dev" },
        { day = "Tue", environment = "dev" },
      ]
    }
  }

  expect_failures = [var.rollout_plan]
}

run "rejects_a_malformed_freeze_date" {
  command = plan

  variables {
    freeze_dates = ["24/12/2025"]
  }

  expect_failures = [var.freeze_dates]
}

run "rejects_the_same_table_twice" {
  command = plan

  variables {
    history_table = "aksversion"
  }

  expect_failures = [var.history_table]
}

run "slack_webhook_is_a_key_vault_reference" {
  command = apply

  variables {
    slack_notifications_enabled = true
  }

  assert {
    condition     = startswith(azurerm_linux_function_app.this.app_settings["SLACK_WEBHOOK_URL"], "@Microsoft.KeyVault(SecretUri=")
    error_message = "SLACK_WEBHOOK_URL must be a Key Vault reference."
  }
}

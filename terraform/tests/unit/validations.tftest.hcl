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

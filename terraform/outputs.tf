output "function_app_name" {
  description = "Name of the function app; pass it to `func azure functionapp publish <name> --python`."
  value       = azurerm_linux_function_app.this.name
}

output "function_app_id" {
  description = "Resource ID of the function app."
  value       = azurerm_linux_function_app.this.id
}

output "function_app_default_hostname" {
  description = "Default host name of the function app, e.g. `func-aksupg-prod.azurewebsites.net`; the HTTP starter is `https://<hostname>/api/upgrades`."
  value       = azurerm_linux_function_app.this.default_hostname
}

output "identity_principal_id" {
  description = "Object (principal) ID of the app's user-assigned managed identity; grant it the custom role on further scopes by adding them to `target_scopes`."
  value       = azurerm_user_assigned_identity.this.principal_id
}

output "identity_client_id" {
  description = "Client ID of the app's user-assigned managed identity (the app setting AZURE_CLIENT_ID)."
  value       = azurerm_user_assigned_identity.this.client_id
}

output "identity_id" {
  description = "Resource ID of the app's user-assigned managed identity."
  value       = azurerm_user_assigned_identity.this.id
}

output "custom_role_definition_id" {
  description = "Resource ID of the custom role \"AKS upgrade conductor (<name>)\", assignable only at `target_scopes`."
  value       = azurerm_role_definition.conductor.role_definition_resource_id
}

output "role_assignment_scopes" {
  description = "Scopes on which the identity holds the custom role (exactly `target_scopes`)."
  value       = sort([for assignment in azurerm_role_assignment.conductor : assignment.scope])
}

output "key_vault_name" {
  description = "Name of the Key Vault that holds the Slack webhook secret."
  value       = azurerm_key_vault.this.name
}

output "key_vault_uri" {
  description = "URI of the Key Vault, e.g. `https://kv-aksupg-prod.vault.azure.net/`."
  value       = azurerm_key_vault.this.vault_uri
}

output "slack_webhook_secret_name" {
  description = "Name of the secret to create in the vault when `slack_notifications_enabled` is true."
  value       = var.slack_webhook_secret_name
}

output "version_store_endpoint" {
  description = "Table endpoint of the version store (the app setting VERSION_STORE_ENDPOINT), e.g. `https://staksupgproddat.table.core.windows.net`."
  value       = local.app_settings.VERSION_STORE_ENDPOINT
}

output "data_storage_account_name" {
  description = "Name of the storage account that holds VERSION_TABLE and HISTORY_TABLE (shared keys disabled)."
  value       = azurerm_storage_account.data.name
}

output "runtime_storage_account_name" {
  description = "Name of the storage account used only by the Functions runtime (AzureWebJobsStorage)."
  value       = azurerm_storage_account.runtime.name
}

output "application_insights_name" {
  description = "Name of the Application Insights component that receives the app's logs and traces."
  value       = azurerm_application_insights.this.name
}

output "action_group_id" {
  description = "Resource ID of the action group `ag-<name>` that emails `alert_email_receivers`; null when no receiver is given (then no alert rule exists either). Add it to your own alert rules to reach the same people."
  value       = one(azurerm_monitor_action_group.alerts[*].id)
}

output "alert_rule_ids" {
  description = "Resource IDs of the log search alert rules by purpose: `run_failed` (a run ended failed or stopped, or the timer refused to start), `no_run_2_days` (notifies nobody; feeds the switch) and `no_run_8_days` (the dead-man's switch). Empty when no receiver is given."
  value = local.alerts_enabled ? {
    run_failed    = azurerm_monitor_scheduled_query_rules_alert_v2.run_failed[0].id
    no_run_2_days = azurerm_monitor_scheduled_query_rules_alert_v2.no_run_2_days[0].id
    no_run_8_days = azurerm_monitor_scheduled_query_rules_alert_v2.no_run_8_days[0].id
  } : {}
}

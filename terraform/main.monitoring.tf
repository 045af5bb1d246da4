# Logs and traces: workspace-based Application Insights with key-based ingestion
# disabled; the app's identity publishes telemetry with an Entra ID token.

resource "azurerm_log_analytics_workspace" "this" {
  name                = "log-${var.name}"
  resource_group_name = var.resource_group_name
  location            = var.location
  sku                 = "PerGB2018"
  retention_in_days   = var.log_retention_days
  # Queries and ingestion need Entra ID; no workspace keys.
  local_authentication_enabled = false
  tags                         = var.tags
}

resource "azurerm_application_insights" "this" {
  name                         = "appi-${var.name}"
  resource_group_name          = var.resource_group_name
  location                     = var.location
  workspace_id                 = azurerm_log_analytics_workspace.this.id
  application_type             = "other"
  local_authentication_enabled = false
  tags                         = var.tags
}

resource "azurerm_role_assignment" "monitoring_metrics_publisher" {
  scope                            = azurerm_application_insights.this.id
  role_definition_name             = "Monitoring Metrics Publisher"
  principal_id                     = azurerm_user_assigned_identity.this.principal_id
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = true
}

# Audit trail of the version store: every read, write and delete on its tables.
resource "azurerm_monitor_diagnostic_setting" "data_tables" {
  name                       = "diag-${var.name}-tables"
  target_resource_id         = "${azurerm_storage_account.data.id}/tableServices/default"
  log_analytics_workspace_id = azurerm_log_analytics_workspace.this.id

  enabled_log {
    category = "StorageRead"
  }

  enabled_log {
    category = "StorageWrite"
  }

  enabled_log {
    category = "StorageDelete"
  }
}

# Audit trail of the vault: who read or changed the Slack webhook secret.
resource "azurerm_monitor_diagnostic_setting" "key_vault" {
  name                       = "diag-${var.name}-kv"
  target_resource_id         = azurerm_key_vault.this.id
  log_analytics_workspace_id = azurerm_log_analytics_workspace.this.id

  enabled_log {
    category_group = "audit"
  }
}

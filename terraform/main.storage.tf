# Two storage accounts, so that a shared key exists only where the Functions
# runtime still needs one:
# - runtime: AzureWebJobsStorage for the Linux Consumption host (durable task
#   hub, deployment package). Key-based because that plan's runtime and
#   `func azure functionapp publish` require it.
# - data: the version store (VERSION_TABLE, HISTORY_TABLE). Shared keys are
#   disabled; the app reaches it with its managed identity, which holds
#   "Storage Table Data Contributor" on this account only.

resource "azurerm_storage_account" "runtime" {
  #checkov:skip=CKV_AZURE_43:checkov cannot evaluate join()/split() in the name; the `name` validation (3-16 of [a-z0-9-]) guarantees st<name without hyphens>{run,dat} is 7-21 lower-case letters and digits.
  #checkov:skip=CKV2_AZURE_40:The Linux Consumption host and `func azure functionapp publish` need a key-based AzureWebJobsStorage; the app's own data is in the data account, where shared keys are disabled.
  #checkov:skip=CKV2_AZURE_33:The Consumption plan cannot reach storage through a private endpoint.
  #checkov:skip=CKV_AZURE_59:The Consumption plan reaches its storage over the public endpoint (no VNet integration); access needs the account key, over TLS 1.2.
  #checkov:skip=CKV_AZURE_35:A default-deny firewall would lock out the Consumption host, whose outbound addresses are shared and not fixed.
  #checkov:skip=CKV2_AZURE_1:Microsoft-managed keys are sufficient for the durable task hub and deployment package (no personal or customer data).
  #checkov:skip=CKV_AZURE_206:Everything in this account (task hub, package) is rebuilt by re-publishing; replication is a variable (runtime_storage_replication_type).
  #checkov:skip=CKV_AZURE_33:Queue logging uses the deprecated classic storage analytics; diagnostics go to Log Analytics through Application Insights.
  name                     = "st${local.compact_name}run"
  resource_group_name      = var.resource_group_name
  location                 = var.location
  account_kind             = "StorageV2"
  account_tier             = "Standard"
  account_replication_type = var.runtime_storage_replication_type
  tags                     = var.tags

  https_traffic_only_enabled        = true
  min_tls_version                   = "TLS1_2"
  allow_nested_items_to_be_public   = false
  cross_tenant_replication_enabled  = false
  infrastructure_encryption_enabled = true
  local_user_enabled                = false
  sftp_enabled                      = false
  shared_access_key_enabled         = true
  default_to_oauth_authentication   = true

  sas_policy {
    expiration_period = "01.00:00:00"
    expiration_action = "Log"
  }

  blob_properties {
    delete_retention_policy {
      days = 7
    }
    container_delete_retention_policy {
      days = 7
    }
  }
}

resource "azurerm_storage_account" "data" {
  #checkov:skip=CKV_AZURE_43:checkov cannot evaluate join()/split() in the name; the `name` validation (3-16 of [a-z0-9-]) guarantees st<name without hyphens>{run,dat} is 7-21 lower-case letters and digits.
  #checkov:skip=CKV2_AZURE_33:The Consumption plan cannot reach storage through a private endpoint; access is Entra ID only (shared keys disabled).
  #checkov:skip=CKV_AZURE_59:The Consumption plan reaches the version store over the public endpoint; shared keys are disabled, so every request needs an Entra ID token with a data role.
  #checkov:skip=CKV_AZURE_35:A default-deny firewall would lock out the Consumption host, whose outbound addresses are shared and not fixed; access is Entra ID only.
  #checkov:skip=CKV2_AZURE_1:The version store holds Kubernetes version numbers and cluster IDs only; Microsoft-managed keys are sufficient.
  #checkov:skip=CKV_AZURE_33:No queues are used in this account.
  name                     = "st${local.compact_name}dat"
  resource_group_name      = var.resource_group_name
  location                 = var.location
  account_kind             = "StorageV2"
  account_tier             = "Standard"
  account_replication_type = var.data_storage_replication_type
  tags                     = var.tags

  https_traffic_only_enabled        = true
  min_tls_version                   = "TLS1_2"
  allow_nested_items_to_be_public   = false
  cross_tenant_replication_enabled  = false
  infrastructure_encryption_enabled = true
  local_user_enabled                = false
  sftp_enabled                      = false
  shared_access_key_enabled         = false
  default_to_oauth_authentication   = true

  sas_policy {
    expiration_period = "01.00:00:00"
    expiration_action = "Log"
  }

  blob_properties {
    delete_retention_policy {
      days = 7
    }
    container_delete_retention_policy {
      days = 7
    }
  }
}

# Created through Resource Manager (storage_account_id), so neither terraform
# nor the deployer needs a shared key or a data-plane role on the account.
resource "azurerm_storage_table" "version" {
  #checkov:skip=CKV2_AZURE_20:This check only recognises azurerm_log_analytics_storage_insights, which needs the account key (disabled here); read, write and delete requests on the table service are logged to Log Analytics by azurerm_monitor_diagnostic_setting.data_tables.
  name               = var.version_table
  storage_account_id = azurerm_storage_account.data.id
}

resource "azurerm_storage_table" "history" {
  #checkov:skip=CKV2_AZURE_20:This check only recognises azurerm_log_analytics_storage_insights, which needs the account key (disabled here); read, write and delete requests on the table service are logged to Log Analytics by azurerm_monitor_diagnostic_setting.data_tables.
  name               = var.history_table
  storage_account_id = azurerm_storage_account.data.id
}

resource "azurerm_role_assignment" "table_data_contributor" {
  scope                            = azurerm_storage_account.data.id
  role_definition_name             = "Storage Table Data Contributor"
  principal_id                     = azurerm_user_assigned_identity.this.principal_id
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = true
}

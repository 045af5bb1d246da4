# The hosting plan and the function app.
#
# Plan: Linux Consumption (Y1). A weekly job that mostly waits on durable timers
# costs next to nothing there, and `azurerm_linux_function_app` supports
# everything this deployment needs (user-assigned identity for Key Vault
# references, basic auth off). Why not Flex Consumption yet: docs/deployment.md.

data "azurerm_client_config" "current" {}

locals {
  compact_name = join("", split("-", var.name))

  # Subscriptions of the target scopes; the app searches only these by default.
  target_subscription_ids = distinct([
    for scope in var.target_scopes : lower(split("/", scope)[2])
  ])

  slack_webhook_secret_uri = "${azurerm_key_vault.this.vault_uri}secrets/${var.slack_webhook_secret_name}"

  # Every setting the app reads (docs/architecture.md, "Settings") plus the identity wiring.
  # Values are strings: app settings are environment variables. Nothing here is
  # a secret: storage is reached with the managed identity (VERSION_STORE_ENDPOINT,
  # not a connection string) and the Slack webhook is a Key Vault reference.
  app_settings = {
    ROLLOUT_PLAN            = jsonencode(var.rollout_plan)
    UPGRADE_SCHEDULE        = var.upgrade_schedule
    SUBSCRIPTION_IDS        = join(",", var.subscription_ids == null ? local.target_subscription_ids : var.subscription_ids)
    CLUSTER_SELECTOR        = var.cluster_selector
    OPT_OUT_TAG             = var.opt_out_tag
    TARGET_POLICY           = var.target_policy
    MIN_SOAK_HOURS          = tostring(var.min_soak_hours)
    FREEZE_DATES            = join(",", var.freeze_dates)
    MAX_PARALLEL_UPGRADES   = tostring(var.max_parallel_upgrades)
    DRY_RUN                 = tostring(var.dry_run)
    ARM_ENDPOINT            = trimsuffix(var.arm_endpoint, "/")
    POLL_INTERVAL_SECONDS   = tostring(var.poll_interval_seconds)
    UPGRADE_TIMEOUT_MINUTES = tostring(var.upgrade_timeout_minutes)

    # Promotion gates.
    APPROVAL_ENVIRONMENTS  = join(",", var.approval_environments)
    APPROVAL_TIMEOUT_HOURS = tostring(var.approval_timeout_hours)
    HEALTH_CHECK           = var.health_check
    HEALTH_SETTLE_MINUTES  = tostring(var.health_settle_minutes)

    # Exactly this user-assigned identity (ManagedIdentityCredential with its client id), never
    # the developer credential chain. The same credential sends the app's telemetry.
    AZURE_CREDENTIAL_KIND = "managed-identity"
    AZURE_CLIENT_ID       = azurerm_user_assigned_identity.this.client_id

    # Identity-based version store: the table endpoint, never a connection string.
    VERSION_STORE_ENDPOINT = trimsuffix(azurerm_storage_account.data.primary_table_endpoint, "/")
    VERSION_TABLE          = azurerm_storage_table.version.name
    HISTORY_TABLE          = azurerm_storage_table.history.name

    SLACK_WEBHOOK_URL = var.slack_notifications_enabled ? "@Microsoft.KeyVault(SecretUri=${local.slack_webhook_secret_uri})" : ""

    # Application Insights with local (key) authentication disabled: telemetry is
    # sent with the identity, which holds "Monitoring Metrics Publisher". This string
    # is for the host; the app's own OpenTelemetry exporter (shared/adapters/telemetry.py)
    # uses AZURE_CLIENT_ID's identity and APPLICATIONINSIGHTS_CONNECTION_STRING, which
    # site_config.application_insights_connection_string sets.
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING = "ClientId=${azurerm_user_assigned_identity.this.client_id};Authorization=AAD"
  }
}

resource "azurerm_service_plan" "this" {
  #checkov:skip=CKV_AZURE_212:A Consumption (Y1) plan has no instance count to set; the platform scales from zero.
  #checkov:skip=CKV_AZURE_225:Zone redundancy needs a Premium or Flex plan; a weekly job that resumes from its durable state does not justify that cost.
  name                = "asp-${var.name}"
  resource_group_name = var.resource_group_name
  location            = var.location
  os_type             = "Linux"
  sku_name            = "Y1"
  tags                = var.tags
}

resource "azurerm_linux_function_app" "this" {
  #checkov:skip=CKV_AZURE_221:The Consumption plan has no private endpoints or VNet integration; the only HTTP trigger (HttpStarter) needs a function key, and HTTPS only and TLS 1.2 are enforced.
  # No App Service Authentication or client certificates: the only HTTP trigger
  # (HttpStarter) requires a function key, the timer trigger has no caller.
  name                = "func-${var.name}"
  resource_group_name = var.resource_group_name
  location            = var.location
  service_plan_id     = azurerm_service_plan.this.id
  tags                = var.tags

  # The Linux Consumption runtime still needs a key-based AzureWebJobsStorage for
  # its deployment package and durable task hub; that key stays in this
  # runtime-only account. The app's own data lives in the data account, which
  # has shared keys disabled (main.storage.tf).
  storage_account_name       = azurerm_storage_account.runtime.name
  storage_account_access_key = azurerm_storage_account.runtime.primary_access_key

  functions_extension_version = "~4"
  builtin_logging_enabled     = false
  https_only                  = true
  # Public by necessity on Consumption; see the checkov skip above.
  public_network_access_enabled                  = true
  ftp_publish_basic_authentication_enabled       = false
  webdeploy_publish_basic_authentication_enabled = var.publishing_basic_auth_enabled

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.this.id]
  }

  # Key Vault references resolve with the same user-assigned identity.
  key_vault_reference_identity_id = azurerm_user_assigned_identity.this.id

  site_config {
    minimum_tls_version                    = "1.2"
    scm_minimum_tls_version                = "1.2"
    ftps_state                             = "Disabled"
    http2_enabled                          = true
    remote_debugging_enabled               = false
    application_insights_connection_string = azurerm_application_insights.this.connection_string

    application_stack {
      python_version = var.python_version
    }
  }

  app_settings = local.app_settings

  lifecycle {
    # `func azure functionapp publish` sets WEBSITE_RUN_FROM_PACKAGE to the
    # package it uploads; terraform must not remove it on the next apply.
    ignore_changes = [
      app_settings["WEBSITE_RUN_FROM_PACKAGE"],
    ]
  }

  depends_on = [
    # The identity must hold its roles before the host starts and reads
    # Key Vault references, the version store and Application Insights.
    azurerm_role_assignment.key_vault_secrets_user,
    azurerm_role_assignment.table_data_contributor,
    azurerm_role_assignment.monitoring_metrics_publisher,
  ]
}

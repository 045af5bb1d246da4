# Key Vault for the Slack webhook URL, in RBAC mode with purge protection.
# Terraform creates the vault, never the secret: the webhook URL is written by an
# operator (`az keyvault secret set`) and so never appears in terraform state.

resource "azurerm_key_vault" "this" {
  #checkov:skip=CKV_AZURE_109:The Consumption plan has no VNet integration, so Key Vault references resolve over the public endpoint and App Service is not a trusted service; access is RBAC only (Key Vault Secrets User for the app).
  #checkov:skip=CKV_AZURE_189:See CKV_AZURE_109: the function app must reach the vault over its public endpoint.
  #checkov:skip=CKV2_AZURE_32:The Consumption plan cannot use private endpoints.
  name                          = "kv-${var.name}"
  resource_group_name           = var.resource_group_name
  location                      = var.location
  tenant_id                     = data.azurerm_client_config.current.tenant_id
  sku_name                      = "standard"
  rbac_authorization_enabled    = true
  purge_protection_enabled      = true
  soft_delete_retention_days    = var.key_vault_soft_delete_retention_days
  public_network_access_enabled = true
  tags                          = var.tags

  network_acls {
    default_action = "Allow"
    bypass         = "AzureServices"
  }
}

resource "azurerm_role_assignment" "key_vault_secrets_user" {
  scope                            = azurerm_key_vault.this.id
  role_definition_name             = "Key Vault Secrets User"
  principal_id                     = azurerm_user_assigned_identity.this.principal_id
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = true
}

resource "azurerm_role_assignment" "key_vault_secrets_officer" {
  for_each = var.key_vault_secrets_officer_principal_ids

  scope                = azurerm_key_vault.this.id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = each.value
}

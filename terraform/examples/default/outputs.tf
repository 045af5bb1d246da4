output "function_app_name" {
  description = "Name to pass to `func azure functionapp publish`."
  value       = module.aks_upgrade_conductor.function_app_name
}

output "function_app_default_hostname" {
  description = "Host name of the app; the HTTP starter is `https://<hostname>/api/upgrades`."
  value       = module.aks_upgrade_conductor.function_app_default_hostname
}

output "identity_principal_id" {
  description = "Principal ID of the app's managed identity."
  value       = module.aks_upgrade_conductor.identity_principal_id
}

output "key_vault_name" {
  description = "Vault that holds the Slack webhook secret."
  value       = module.aks_upgrade_conductor.key_vault_name
}

output "resource_group_name" {
  description = "Resource group that holds the app."
  value       = azurerm_resource_group.this.name
}

output "version_store_endpoint" {
  description = "Table endpoint of the version store (VERSION_STORE_ENDPOINT)."
  value       = module.aks_upgrade_conductor.version_store_endpoint
}

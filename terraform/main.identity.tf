# The app's identity and its only permissions on the clusters.
#
# A user-assigned identity exists before the app, so every role below is in
# place when the host first starts, and it survives re-creating the app.
# There is no client secret anywhere: DefaultAzureCredential uses this identity
# through AZURE_CLIENT_ID.

locals {
  # Exactly the ARM operations the app performs; nothing else, no wildcards.
  conductor_actions = [
    "Microsoft.ContainerService/managedClusters/read",
    "Microsoft.ContainerService/managedClusters/write",
    "Microsoft.ContainerService/managedClusters/agentPools/read",
    "Microsoft.ContainerService/managedClusters/agentPools/write",
    "Microsoft.ContainerService/managedClusters/upgradeProfiles/read",
    "Microsoft.ContainerService/locations/kubernetesVersions/read",
    "Microsoft.ContainerService/locations/operations/read",
    "Microsoft.Resources/subscriptions/read",
  ]

  # HEALTH_CHECK=arm+alerts: after a cluster's upgrade, the app lists the Azure
  # Monitor alerts fired on that cluster (Alerts Management API) and fails the
  # health check on a Sev0 or Sev1 one. Reading alerts needs this action on the
  # cluster's scope; with HEALTH_CHECK=arm the app never reads them, so the
  # role does not carry it.
  alert_read_actions = ["Microsoft.AlertsManagement/alerts/read"]

  role_actions = concat(local.conductor_actions, var.health_check == "arm+alerts" ? local.alert_read_actions : [])

  role_definition_scope = coalesce(
    var.role_definition_scope,
    regex("^/subscriptions/[^/]+", var.target_scopes[0]),
  )
}

resource "azurerm_user_assigned_identity" "this" {
  name                = "id-${var.name}"
  resource_group_name = var.resource_group_name
  location            = var.location
  tags                = var.tags
}

resource "azurerm_role_definition" "conductor" {
  name        = "AKS upgrade conductor (${var.name})"
  scope       = local.role_definition_scope
  description = "Read AKS clusters, their upgrade profiles and available versions, and upgrade clusters and node pools${var.health_check == "arm+alerts" ? "; read the Azure Monitor alerts fired on them" : ""}. Used by the managed identity of func-${var.name}."

  permissions {
    actions     = local.role_actions
    not_actions = []
  }

  assignable_scopes = var.target_scopes
}

resource "azurerm_role_assignment" "conductor" {
  for_each = toset(var.target_scopes)

  scope = each.value
  # The definition ID must carry the subscription of the assignment's scope.
  role_definition_id               = "${regex("^/subscriptions/[^/]+", each.value)}/providers/Microsoft.Authorization/roleDefinitions/${azurerm_role_definition.conductor.role_definition_id}"
  principal_id                     = azurerm_user_assigned_identity.this.principal_id
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = true
  description                      = "AKS upgrade conductor func-${var.name}: upgrade the AKS clusters in this scope."
}

# The whole app in a new resource group, allowed to upgrade clusters in the
# subscription terraform runs in (or in `target_scopes`), starting in dry-run.
#
#   terraform init && terraform apply -var name=aksupg-prod
#   func azure functionapp publish "$(terraform output -raw function_app_name)" --python

data "azurerm_subscription" "current" {}

resource "azurerm_resource_group" "this" {
  name     = "rg-${var.name}"
  location = var.location
}

module "aks_upgrade_conductor" {
  source = "../.."

  name                = var.name
  resource_group_name = azurerm_resource_group.this.name
  location            = azurerm_resource_group.this.location
  target_scopes       = length(var.target_scopes) > 0 ? var.target_scopes : [data.azurerm_subscription.current.id]

  dry_run          = var.dry_run
  target_policy    = "latest"
  upgrade_schedule = "0 0 10 * * 1-4" # read as UTC: 11:00 (winter) or 12:00 (summer) in Oslo, the same weekday
  rollout_plan = {
    timezone = "Europe/Oslo"
    waves = [
      { day = "Mon", environment = "sandbox" },
      { day = "Tue", environment = "dev" },
      { day = "Wed", environment = "test" },
      { day = "Thu", environment = "prod" },
    ]
  }

  # Failed or stopped runs and the 8-day dead-man's switch are emailed here;
  # with no receiver the module creates no alerts.
  alert_email_receivers = var.alert_email_receivers

  tags = {
    workload = "aks-upgrade-conductor"
  }
}

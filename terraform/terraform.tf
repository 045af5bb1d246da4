terraform {
  # 1.9: validation blocks may refer to other variables (target scopes vs. role scope).
  required_version = ">= 1.9, < 2.0"

  required_providers {
    azurerm = {
      source = "hashicorp/azurerm"
      # 4.78 adds `storage_account_id` to azurerm_storage_table, so the tables are
      # created through Resource Manager and the data account needs no shared key.
      version = ">= 4.78, < 5.0"
    }
  }
}

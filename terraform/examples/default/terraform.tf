terraform {
  required_version = ">= 1.9, < 2.0"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = ">= 4.78, < 5.0"
    }
  }
}

provider "azurerm" {
  features {
    key_vault {
      # Purge protection is on: a destroyed vault stays recoverable.
      purge_soft_delete_on_destroy = false
    }
  }
  # Data-plane calls with Entra ID: the version store account has no shared key.
  storage_use_azuread = true
}

variable "name" {
  type        = string
  default     = "aksupg-demo"
  nullable    = false
  description = "Base name of the resources, e.g. `aksupg-prod`; storage account and Key Vault names derived from it must be globally unique."
}

variable "location" {
  type        = string
  default     = "westeurope"
  nullable    = false
  description = "Azure region of the app, e.g. `westeurope`."
}

variable "target_scopes" {
  type        = list(string)
  default     = []
  nullable    = false
  description = "Subscription or resource group IDs that hold the clusters, e.g. `[\"/subscriptions/00000000-0000-0000-0000-000000000000\"]`. Empty means the subscription terraform runs in."
}

variable "dry_run" {
  type        = bool
  default     = true
  nullable    = false
  description = "Start in dry-run mode (plan and report only), e.g. `true`; set `false` once a dry run looks right."
}

variable "alert_email_receivers" {
  type = list(object({
    name          = string
    email_address = string
  }))
  default     = []
  nullable    = false
  description = "Who gets the app's alerts by email, e.g. `[{ name = \"platform-team\", email_address = \"platform-team@example.com\" }]`. Empty creates no alerts."
}

# ---------------------------------------------------------------------------
# Required inputs
# ---------------------------------------------------------------------------

variable "name" {
  type        = string
  nullable    = false
  description = <<-DESCRIPTION
    Base name of every resource this module creates, e.g. `aksupg-prod`.
    Lower-case letters, digits and hyphens, 3 to 16 characters, starting with a
    letter. Resource names are derived from it: `func-<name>`, `asp-<name>`,
    `id-<name>`, `kv-<name>`, `appi-<name>`, `log-<name>`, and the storage
    accounts `st<name without hyphens>run` (Functions runtime) and
    `st<name without hyphens>dat` (version store). Storage account and Key Vault
    names are global, so pick something unique to your organisation.
  DESCRIPTION

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,14}[a-z0-9]$", var.name)) && !strcontains(var.name, "--")
    error_message = "name must be 3-16 characters of lower-case letters, digits and single hyphens, starting with a letter and ending with a letter or digit, e.g. \"aksupg-prod\"."
  }
}

variable "resource_group_name" {
  type        = string
  nullable    = false
  description = "Name of an existing resource group that receives every resource of the app, e.g. `rg-aks-upgrade-conductor`."

  validation {
    condition     = can(regex("^[-\\w\\._\\(\\)]{1,89}[-\\w_\\(\\)]$", var.resource_group_name))
    error_message = "resource_group_name must be a valid resource group name (1-90 characters, not ending in a period), e.g. \"rg-aks-upgrade-conductor\"."
  }
}

variable "location" {
  type        = string
  nullable    = false
  description = "Azure region of the app, e.g. `westeurope`. The clusters it upgrades may live in any region."

  validation {
    condition     = can(regex("^[a-z][a-z0-9]+$", var.location))
    error_message = "location must be an Azure region name in lower case without spaces, e.g. \"westeurope\"."
  }
}

variable "target_scopes" {
  type        = list(string)
  nullable    = false
  description = <<-DESCRIPTION
    Resource IDs of the subscriptions and/or resource groups that hold the AKS
    clusters to upgrade. The custom role "AKS upgrade conductor" is assignable
    only at these scopes and is assigned to the app's identity on each of them;
    the app gets no permission anywhere else. Add a scope here to let the app
    upgrade clusters in another subscription, e.g.
    `["/subscriptions/00000000-0000-0000-0000-000000000000",
      "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-aks-prod"]`.
  DESCRIPTION

  validation {
    condition     = length(var.target_scopes) > 0
    error_message = "target_scopes must name at least one subscription or resource group, e.g. [\"/subscriptions/00000000-0000-0000-0000-000000000000\"]."
  }

  validation {
    condition = alltrue([
      for scope in var.target_scopes :
      can(regex("^/subscriptions/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(/resourceGroups/[-\\w\\._\\(\\)]+)?$", scope))
    ])
    error_message = "Each target scope must be a subscription or resource group ID, e.g. \"/subscriptions/00000000-0000-0000-0000-000000000000\" or \"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-aks-dev\"; management groups, wildcards and trailing slashes are not accepted."
  }

  validation {
    condition     = length(distinct([for scope in var.target_scopes : lower(scope)])) == length(var.target_scopes)
    error_message = "target_scopes must not list the same scope twice, e.g. [\"/subscriptions/00000000-0000-0000-0000-000000000000\"]."
  }
}

# ---------------------------------------------------------------------------
# Optional inputs: Azure resources
# ---------------------------------------------------------------------------

variable "tags" {
  type        = map(string)
  default     = {}
  nullable    = false
  description = "Tags applied to every resource this module creates, e.g. `{ workload = \"aks-upgrade-conductor\", owner = \"platform-team\" }`."
}

variable "role_definition_scope" {
  type        = string
  default     = null
  description = <<-DESCRIPTION
    Subscription ID under which the custom role definition is stored, e.g.
    `/subscriptions/00000000-0000-0000-0000-000000000000`. Defaults to the
    subscription of the first entry of `target_scopes`. The role is assignable
    only at `target_scopes` wherever it is stored.
  DESCRIPTION

  validation {
    condition     = var.role_definition_scope == null || can(regex("^/subscriptions/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", var.role_definition_scope))
    error_message = "role_definition_scope must be a subscription ID, e.g. \"/subscriptions/00000000-0000-0000-0000-000000000000\"."
  }
}

variable "runtime_storage_replication_type" {
  type        = string
  default     = "LRS"
  nullable    = false
  description = "Replication of the Functions runtime storage account (durable task hub and deployment package; all of it can be rebuilt by re-publishing), e.g. `LRS` or `ZRS`."

  validation {
    condition     = contains(["LRS", "ZRS", "GRS", "RAGRS", "GZRS", "RAGZRS"], var.runtime_storage_replication_type)
    error_message = "runtime_storage_replication_type must be one of LRS, ZRS, GRS, RAGRS, GZRS, RAGZRS, e.g. \"LRS\"."
  }
}

variable "data_storage_replication_type" {
  type        = string
  default     = "GRS"
  nullable    = false
  description = "Replication of the version store account, which holds the only record of which version each environment validated, e.g. `GRS` or `GZRS`."

  validation {
    condition     = contains(["LRS", "ZRS", "GRS", "RAGRS", "GZRS", "RAGZRS"], var.data_storage_replication_type)
    error_message = "data_storage_replication_type must be one of LRS, ZRS, GRS, RAGRS, GZRS, RAGZRS, e.g. \"GRS\"."
  }
}

variable "log_retention_days" {
  type        = number
  default     = 90
  nullable    = false
  description = "Days the Log Analytics workspace keeps the app's logs and traces, e.g. `90`. A weekly job needs several weeks to compare runs."

  validation {
    condition     = var.log_retention_days >= 30 && var.log_retention_days <= 730 && floor(var.log_retention_days) == var.log_retention_days
    error_message = "log_retention_days must be a whole number of days from 30 to 730, e.g. 90."
  }
}

variable "key_vault_soft_delete_retention_days" {
  type        = number
  default     = 90
  nullable    = false
  description = "Days a deleted secret or vault can be recovered, e.g. `90`. Purge protection is always on, so nothing can be purged before this."

  validation {
    condition     = var.key_vault_soft_delete_retention_days >= 7 && var.key_vault_soft_delete_retention_days <= 90 && floor(var.key_vault_soft_delete_retention_days) == var.key_vault_soft_delete_retention_days
    error_message = "key_vault_soft_delete_retention_days must be a whole number from 7 to 90, e.g. 90."
  }
}

variable "key_vault_secrets_officer_principal_ids" {
  type        = set(string)
  default     = []
  nullable    = false
  description = <<-DESCRIPTION
    Object IDs of the people or pipelines allowed to write the Slack webhook
    secret (role "Key Vault Secrets Officer" on this vault only), e.g.
    `["22222222-2222-2222-2222-222222222222"]`. The app itself can only read.
  DESCRIPTION

  validation {
    condition = alltrue([
      for id in var.key_vault_secrets_officer_principal_ids :
      can(regex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", id))
    ])
    error_message = "Each entry of key_vault_secrets_officer_principal_ids must be an object ID (GUID), e.g. \"22222222-2222-2222-2222-222222222222\"."
  }
}

variable "publishing_basic_auth_enabled" {
  type        = bool
  default     = false
  nullable    = false
  description = <<-DESCRIPTION
    Allow the SCM (Kudu) site's basic-auth publishing credentials, e.g. `false`.
    Current Azure Functions Core Tools publish with your Entra ID token, so keep
    this off; turn it on only for an old client that fails with 401. FTP basic
    auth is always off.
  DESCRIPTION
}

variable "python_version" {
  type        = string
  default     = "3.11"
  nullable    = false
  description = "Python version of the function app, e.g. `3.12`. CI tests the app on both 3.11 and 3.12 from the same requirements.lock; 3.12 is the newest the Linux Consumption plan offers. Build the package for the same version (docs/deployment.md, \"Publish the code\")."

  validation {
    condition     = contains(["3.11", "3.12"], var.python_version)
    error_message = "python_version must be 3.11 or 3.12 (the versions CI tests and Linux Consumption runs), e.g. 3.12."
  }
}

# ---------------------------------------------------------------------------
# Optional inputs: app settings (docs/architecture.md, "Settings")
# ---------------------------------------------------------------------------

variable "rollout_plan" {
  type = object({
    timezone = optional(string, "UTC")
    waves = list(object({
      day         = string
      environment = string
    }))
  })
  nullable = false
  default = {
    timezone = "Europe/Oslo"
    waves = [
      { day = "Mon", environment = "sandbox" },
      { day = "Tue", environment = "dev" },
      { day = "Wed", environment = "test" },
      { day = "Thu", environment = "prod" },
    ]
  }
  description = <<-DESCRIPTION
    ROLLOUT_PLAN: the weekday map. The first wave is the lead environment (takes
    the newest version allowed by `target_policy`); each later wave follows the
    wave before it. Attributes:
    - `timezone`: IANA time zone the wave days are counted in, e.g. `Europe/Oslo`
      (default `UTC`); a timer firing (UTC) runs the wave of its date in this zone.
    - `waves`: list of `{ day, environment }`; `day` is `Mon`..`Sun` or a full
      English weekday name in any case, `environment` a lower-case name that
      appears once, e.g. `{ day = "Tue", environment = "dev" }`.
  DESCRIPTION

  validation {
    condition     = length(var.rollout_plan.waves) > 0
    error_message = "rollout_plan.waves must hold at least one wave, e.g. [{ day = \"Mon\", environment = \"sandbox\" }]."
  }

  validation {
    condition = alltrue([
      for wave in var.rollout_plan.waves :
      contains(["mon", "tue", "wed", "thu", "fri", "sat", "sun", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"], lower(wave.day))
    ])
    error_message = "Each rollout_plan wave's day must be Mon..Sun or a full English weekday name, e.g. { day = \"Tue\", environment = \"dev\" }."
  }

  validation {
    condition = alltrue([
      for wave in var.rollout_plan.waves : can(regex("^[a-z0-9][a-z0-9_-]{0,62}$", wave.environment))
    ])
    error_message = "Each rollout_plan wave's environment must be lower-case letters, digits, '-' or '_', e.g. { day = \"Thu\", environment = \"prod\" }."
  }

  validation {
    condition     = length(distinct([for wave in var.rollout_plan.waves : wave.environment])) == length(var.rollout_plan.waves)
    error_message = "Each environment may appear in only one rollout_plan wave, e.g. waves = [{ day = \"Mon\", environment = \"dev\" }, { day = \"Tue\", environment = \"prod\" }]."
  }

  validation {
    condition     = var.rollout_plan.timezone == "UTC" || can(regex("^[A-Za-z_]+(/[A-Za-z0-9_+-]+){1,2}$", var.rollout_plan.timezone))
    error_message = "rollout_plan.timezone must be an IANA time zone name, e.g. \"Europe/Oslo\" or \"UTC\"."
  }
}

variable "upgrade_schedule" {
  type        = string
  default     = "0 0 10 * * 1-4"
  nullable    = false
  description = <<-DESCRIPTION
    UPGRADE_SCHEDULE: six-field NCRONTAB (second minute hour day month weekday)
    for TimerStarter, read as UTC: the Linux Consumption plan ignores
    WEBSITE_TIME_ZONE. Each firing starts the wave of its date in
    `rollout_plan.timezone`, so choose UTC times that fall on the waves' days
    there: `0 0 10 * * 1-4` is 10:00 UTC Monday to Thursday (11:00 or 12:00 in
    Oslo), while `0 30 23 * * 1-4` is already Tuesday to Friday in Oslo and
    never starts a Monday wave. The app logs a warning for every wave no firing
    reaches. Second, minute and hour must be plain numbers, because the
    orchestrator's clock for a run starts at that time of day.
  DESCRIPTION

  validation {
    condition     = can(regex("^[0-9]{1,2} [0-9]{1,2} [0-9]{1,2} \\S+ \\S+ \\S+$", var.upgrade_schedule))
    error_message = "upgrade_schedule must be a six-field NCRONTAB whose second, minute and hour fields are plain numbers, e.g. \"0 0 10 * * 1-4\"."
  }
}

variable "subscription_ids" {
  type        = list(string)
  default     = null
  description = <<-DESCRIPTION
    SUBSCRIPTION_IDS: subscriptions the app searches for clusters, e.g.
    `["00000000-0000-0000-0000-000000000000"]`. Defaults to the subscriptions of
    `target_scopes`, which are the only ones the identity can act in. An empty
    list means "every subscription the identity can see".
  DESCRIPTION

  validation {
    condition = var.subscription_ids == null || alltrue([
      for id in coalesce(var.subscription_ids, []) :
      can(regex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", id))
    ])
    error_message = "Each entry of subscription_ids must be a bare subscription GUID, e.g. \"00000000-0000-0000-0000-000000000000\" (not \"/subscriptions/...\")."
  }
}

variable "cluster_selector" {
  type        = string
  default     = "tag"
  nullable    = false
  description = "CLUSTER_SELECTOR: how clusters are matched to an environment, e.g. `tag` (cluster tag `environment=<env>`) or `subscription-name` (subscription display name contains the environment name)."

  validation {
    condition     = contains(["tag", "subscription-name"], var.cluster_selector)
    error_message = "cluster_selector must be \"tag\" or \"subscription-name\", e.g. \"tag\"."
  }
}

variable "opt_out_tag" {
  type        = string
  default     = "aks-upgrade"
  nullable    = false
  description = "OPT_OUT_TAG: name of the cluster tag whose value `skip` keeps a cluster untouched, e.g. `aks-upgrade`."

  validation {
    condition     = can(regex("^[^<>%&\\\\?/\\s]{1,512}$", var.opt_out_tag))
    error_message = "opt_out_tag must be a valid Azure tag name (1-512 characters, none of < > % & \\ ? / or whitespace), e.g. \"aks-upgrade\"."
  }
}

variable "target_policy" {
  type        = string
  default     = "latest"
  nullable    = false
  description = "TARGET_POLICY: the lead environment's target, e.g. `latest` (newest GA reachable), `stable` (newest patch of minor N-1) or `patch` (newest patch of the current minor)."

  validation {
    condition     = contains(["latest", "stable", "patch"], var.target_policy)
    error_message = "target_policy must be \"latest\", \"stable\" or \"patch\", e.g. \"stable\"."
  }
}

variable "min_soak_hours" {
  type        = number
  default     = 20
  nullable    = false
  description = "MIN_SOAK_HOURS: a follower only takes a version its predecessor validated at least this many hours earlier, e.g. `20`."

  validation {
    condition     = var.min_soak_hours >= 0 && var.min_soak_hours <= 24 * 28 && floor(var.min_soak_hours) == var.min_soak_hours
    error_message = "min_soak_hours must be a whole number of hours from 0 to 672, e.g. 20."
  }
}

variable "freeze_dates" {
  type        = list(string)
  default     = []
  nullable    = false
  description = "FREEZE_DATES: dates (`YYYY-MM-DD`) or inclusive ranges (`YYYY-MM-DD..YYYY-MM-DD`) on which no upgrade starts, e.g. `[\"2025-12-22..2026-01-02\", \"2026-04-03\"]`."

  validation {
    condition = alltrue([
      for entry in var.freeze_dates :
      can(regex("^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])(\\.\\.[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]))?$", entry))
    ])
    error_message = "Each freeze date must be YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD, e.g. \"2025-12-22..2026-01-02\"."
  }
}

variable "max_parallel_upgrades" {
  type        = number
  default     = 5
  nullable    = false
  description = "MAX_PARALLEL_UPGRADES: clusters upgraded at once within an environment, e.g. `5`."

  validation {
    condition     = var.max_parallel_upgrades >= 1 && var.max_parallel_upgrades <= 100 && floor(var.max_parallel_upgrades) == var.max_parallel_upgrades
    error_message = "max_parallel_upgrades must be a whole number from 1 to 100, e.g. 5."
  }
}

variable "dry_run" {
  type        = bool
  default     = false
  nullable    = false
  description = "DRY_RUN: plan and report, change nothing, e.g. `true` for a first deployment that should only show what it would do."
}

variable "arm_endpoint" {
  type        = string
  default     = "https://management.azure.com"
  nullable    = false
  description = "ARM_ENDPOINT: Azure Resource Manager base URL, e.g. `https://management.azure.com` (public cloud) or `https://management.usgovcloudapi.net` (US Government)."

  validation {
    condition     = can(regex("^https://[A-Za-z0-9.-]+(:[0-9]+)?/?$", var.arm_endpoint))
    error_message = "arm_endpoint must be an https:// base URL without a path, e.g. \"https://management.azure.com\"."
  }
}

variable "version_table" {
  type        = string
  default     = "AKSVersion"
  nullable    = false
  description = "VERSION_TABLE: table that holds each environment's validated version, e.g. `AKSVersion` (the original table name)."

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9]{2,62}$", var.version_table)) && lower(var.version_table) != "tables"
    error_message = "version_table must be a valid table name (3-63 letters and digits, starting with a letter), e.g. \"AKSVersion\"."
  }
}

variable "history_table" {
  type        = string
  default     = "AKSUpgradeHistory"
  nullable    = false
  description = "HISTORY_TABLE: table that holds one row per run and cluster, e.g. `AKSUpgradeHistory`. Must differ from `version_table`."

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9]{2,62}$", var.history_table)) && lower(var.history_table) != "tables"
    error_message = "history_table must be a valid table name (3-63 letters and digits, starting with a letter), e.g. \"AKSUpgradeHistory\"."
  }

  validation {
    condition     = lower(var.history_table) != lower(var.version_table)
    error_message = "history_table must differ from version_table (table names are case-insensitive), e.g. \"AKSUpgradeHistory\"."
  }
}

variable "poll_interval_seconds" {
  type        = number
  default     = 60
  nullable    = false
  description = "POLL_INTERVAL_SECONDS: durable timer between two checks of a running upgrade, e.g. `60`."

  validation {
    condition     = var.poll_interval_seconds >= 10 && var.poll_interval_seconds <= 3600 && floor(var.poll_interval_seconds) == var.poll_interval_seconds
    error_message = "poll_interval_seconds must be a whole number from 10 to 3600, e.g. 60."
  }
}

variable "upgrade_timeout_minutes" {
  type        = number
  default     = 360
  nullable    = false
  description = "UPGRADE_TIMEOUT_MINUTES: deadline for one cluster's upgrade, after which it counts as failed, e.g. `360`."

  validation {
    condition     = var.upgrade_timeout_minutes >= 15 && var.upgrade_timeout_minutes <= 24 * 60 && floor(var.upgrade_timeout_minutes) == var.upgrade_timeout_minutes
    error_message = "upgrade_timeout_minutes must be a whole number from 15 to 1440, e.g. 360."
  }

  validation {
    condition     = var.upgrade_timeout_minutes * 60 > var.poll_interval_seconds
    error_message = "upgrade_timeout_minutes must be longer than one poll_interval_seconds, e.g. upgrade_timeout_minutes = 360 with poll_interval_seconds = 60."
  }
}

variable "approval_environments" {
  type        = list(string)
  default     = []
  nullable    = false
  description = <<-DESCRIPTION
    APPROVAL_ENVIRONMENTS: environments of `rollout_plan` whose runs wait for an
    approval before their first upgrade, e.g. `["prod"]`. Such a run plans,
    posts the plan and the approval URL to Slack, and waits up to
    `approval_timeout_hours` for a decision; rejected or without one, it ends
    `skipped` and upgrades nothing. Empty (the default): no environment waits.
  DESCRIPTION

  validation {
    condition = alltrue([
      for environment in var.approval_environments :
      contains([for wave in var.rollout_plan.waves : wave.environment], environment)
    ])
    error_message = "Each entry of approval_environments must be an environment of rollout_plan, e.g. [\"prod\"] with the default plan."
  }

  validation {
    condition     = length(distinct(var.approval_environments)) == length(var.approval_environments)
    error_message = "approval_environments must not name an environment twice, e.g. [\"test\", \"prod\"]."
  }
}

variable "approval_timeout_hours" {
  type        = number
  default     = 24
  nullable    = false
  description = "APPROVAL_TIMEOUT_HOURS: how long a run of an environment in `approval_environments` waits for a decision before it ends `skipped`, e.g. `24`. At most 144 (six days), so a decision can never be pending when the same weekday comes round again."

  validation {
    condition     = var.approval_timeout_hours >= 1 && var.approval_timeout_hours <= 144 && floor(var.approval_timeout_hours) == var.approval_timeout_hours
    error_message = "approval_timeout_hours must be a whole number of hours from 1 to 144, e.g. 24."
  }
}

variable "health_check" {
  type        = string
  default     = "arm"
  nullable    = false
  description = <<-DESCRIPTION
    HEALTH_CHECK: what a cluster must show after its upgrade before the
    environment counts as validated, e.g. `arm` (provisioning state Succeeded,
    power state Running, control plane and every node pool at the target) or
    `arm+alerts` (also no Sev0 or Sev1 Azure Monitor alert fired on the cluster
    since its upgrade started). `arm+alerts` adds
    `Microsoft.AlertsManagement/alerts/read` to the custom role.
  DESCRIPTION

  validation {
    condition     = contains(["arm", "arm+alerts"], var.health_check)
    error_message = "health_check must be \"arm\" or \"arm+alerts\", e.g. \"arm+alerts\"."
  }
}

variable "health_settle_minutes" {
  type        = number
  default     = 10
  nullable    = false
  description = "HEALTH_SETTLE_MINUTES: minutes the run waits (a durable timer) after a cluster's upgrade operation succeeds before it checks the cluster's health, so that pods can reschedule and alerts can fire, e.g. `10`."

  validation {
    condition     = var.health_settle_minutes >= 0 && var.health_settle_minutes <= 1440 && floor(var.health_settle_minutes) == var.health_settle_minutes
    error_message = "health_settle_minutes must be a whole number of minutes from 0 to 1440 (as the app accepts), e.g. 10."
  }

  # Terraform >= 1.9 validates across variables: the app refuses the same pair at start-up.
  validation {
    condition     = var.health_settle_minutes < var.upgrade_timeout_minutes
    error_message = "health_settle_minutes must be shorter than upgrade_timeout_minutes: the upgrade's deadline covers the settle time, so no upgrade would be health checked in time; e.g. 10 with upgrade_timeout_minutes = 360."
  }
}

variable "slack_notifications_enabled" {
  type        = bool
  default     = false
  nullable    = false
  description = <<-DESCRIPTION
    Wire SLACK_WEBHOOK_URL as a Key Vault reference to the secret
    `slack_webhook_secret_name`, e.g. `true`. Terraform never sees the webhook
    URL: store it with `az keyvault secret set` (see docs/deployment.md). When
    `false`, SLACK_WEBHOOK_URL is empty and the app sends no notifications.
  DESCRIPTION
}

variable "slack_webhook_secret_name" {
  type        = string
  default     = "slack-webhook-url"
  nullable    = false
  description = "Name of the Key Vault secret that holds the Slack incoming-webhook URL, e.g. `slack-webhook-url`."

  validation {
    condition     = can(regex("^[0-9A-Za-z-]{1,127}$", var.slack_webhook_secret_name))
    error_message = "slack_webhook_secret_name must be 1-127 letters, digits or hyphens, e.g. \"slack-webhook-url\"."
  }
}


# ---------------------------------------------------------------------------
# Optional inputs: alerts (main.alerts.tf)
# ---------------------------------------------------------------------------

variable "alert_email_receivers" {
  type = list(object({
    name          = string
    email_address = string
  }))
  default     = []
  nullable    = false
  description = <<-DESCRIPTION
    Who receives the app's alerts by email, e.g.
    `[{ name = "platform-team", email_address = "platform-team@example.com" }]`.
    With at least one receiver the module creates the action group `ag-<name>`
    and three log search alert rules on the workspace: a run ended `failed` or
    `stopped` (or the timer refused to start it), no run finished for two days
    (notifies nobody; it feeds the next one), and no run finished for eight
    days (the dead-man's switch). With none, the default, it creates no action
    group and no alert rule: an alert that reaches nobody only costs money.
    `name` labels the receiver in the action group: 1-128 characters, unique.
    See docs/deployment.md, "Alerts".
  DESCRIPTION

  validation {
    condition = alltrue([
      for receiver in var.alert_email_receivers :
      can(regex("^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$", receiver.email_address))
    ])
    error_message = "Each alert_email_receivers entry needs an email_address like name@domain, e.g. { name = \"platform-team\", email_address = \"platform-team@example.com\" }."
  }

  validation {
    condition = alltrue([
      for receiver in var.alert_email_receivers :
      can(regex("^\\S(.{0,126}\\S)?$", receiver.name))
    ])
    error_message = "Each alert_email_receivers name must be 1-128 characters without leading or trailing spaces, e.g. { name = \"platform-team\", email_address = \"platform-team@example.com\" }."
  }

  validation {
    condition     = length(distinct([for receiver in var.alert_email_receivers : lower(receiver.name)])) == length(var.alert_email_receivers)
    error_message = "alert_email_receivers names must be unique (ignoring case), e.g. [{ name = \"platform-team\", email_address = \"platform-team@example.com\" }, { name = \"on-call\", email_address = \"on-call@example.com\" }]."
  }
}

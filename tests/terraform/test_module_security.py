"""Security properties of the terraform module, read from its source with python-hcl2.

These run without Azure, terraform or a provider download. Each test asserts a
property the deployment must keep (HTTPS only, TLS 1.2, managed identity, no
secrets in settings, least-privilege role scopes, ...), so removing or weakening
the property in terraform/ makes a test fail.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.terraform.hcl import MODULE_DIR, REPO, Expr, Module, block, load_module

# The ARM operations the app performs, and nothing else: list subscriptions and clusters, read upgrade
# profiles and the region's version list, GET and PUT managed clusters (with their pools), poll operations.
CONDUCTOR_ACTIONS = {
    "Microsoft.ContainerService/managedClusters/read",
    "Microsoft.ContainerService/managedClusters/write",
    "Microsoft.ContainerService/managedClusters/agentPools/read",
    "Microsoft.ContainerService/managedClusters/agentPools/write",
    "Microsoft.ContainerService/managedClusters/upgradeProfiles/read",
    "Microsoft.ContainerService/locations/kubernetesVersions/read",
    "Microsoft.ContainerService/locations/operations/read",
    "Microsoft.Resources/subscriptions/read",
}

# Every setting of the contract, and the variable each must be wired from.
SETTINGS_FROM_VARIABLES = {
    "ROLLOUT_PLAN": "var.rollout_plan",
    "UPGRADE_SCHEDULE": "var.upgrade_schedule",
    "SUBSCRIPTION_IDS": "var.subscription_ids",
    "CLUSTER_SELECTOR": "var.cluster_selector",
    "OPT_OUT_TAG": "var.opt_out_tag",
    "TARGET_POLICY": "var.target_policy",
    "MIN_SOAK_HOURS": "var.min_soak_hours",
    "FREEZE_DATES": "var.freeze_dates",
    "MAX_PARALLEL_UPGRADES": "var.max_parallel_upgrades",
    "DRY_RUN": "var.dry_run",
    "ARM_ENDPOINT": "var.arm_endpoint",
    "POLL_INTERVAL_SECONDS": "var.poll_interval_seconds",
    "UPGRADE_TIMEOUT_MINUTES": "var.upgrade_timeout_minutes",
    "SLACK_WEBHOOK_URL": "var.slack_notifications_enabled",
    "APPROVAL_ENVIRONMENTS": "var.approval_environments",
    "APPROVAL_TIMEOUT_HOURS": "var.approval_timeout_hours",
    "HEALTH_CHECK": "var.health_check",
    "HEALTH_SETTLE_MINUTES": "var.health_settle_minutes",
}

IDENTITY = "azurerm_user_assigned_identity.this"


@pytest.fixture(scope="module")
def module() -> Module:
    return load_module()


@pytest.fixture(scope="module")
def app(module: Module) -> dict[str, Any]:
    return module.resource("azurerm_linux_function_app", "this")


@pytest.fixture(scope="module")
def app_settings(module: Module, app: dict[str, Any]) -> dict[str, Any]:
    assert app["app_settings"] == Expr("local.app_settings")
    settings = module.locals["app_settings"]
    assert isinstance(settings, dict)
    return settings


# --- function app ----------------------------------------------------------


def test_function_app_is_reachable_over_https_only_with_tls_1_2(app: dict[str, Any]) -> None:
    site = block(app, "site_config")
    assert app["https_only"] is True
    assert site["minimum_tls_version"] == "1.2"
    assert site["scm_minimum_tls_version"] == "1.2"
    assert site["ftps_state"] == "Disabled"
    assert site["remote_debugging_enabled"] is False


def test_function_app_turns_off_basic_auth_publishing(module: Module, app: dict[str, Any]) -> None:
    assert app["ftp_publish_basic_authentication_enabled"] is False
    assert app["webdeploy_publish_basic_authentication_enabled"] == Expr("var.publishing_basic_auth_enabled")
    assert module.variables["publishing_basic_auth_enabled"]["default"] is False


def test_function_app_runs_a_tested_python_on_functions_v4(module: Module, app: dict[str, Any]) -> None:
    stack = block(block(app, "site_config"), "application_stack")
    assert stack == {"python_version": Expr("var.python_version")}
    assert module.variables["python_version"]["default"] == "3.11"
    assert module.variables["python_version"]["validation"][0]["condition"] == Expr('contains(["3.11", "3.12"], var.python_version)')
    assert app["functions_extension_version"] == "~4"
    assert not module.resources_of("azurerm_function_app"), "azurerm_function_app is deprecated"


def test_function_app_runs_on_a_consumption_plan(module: Module, app: dict[str, Any]) -> None:
    plan = module.resource("azurerm_service_plan", "this")
    assert app["service_plan_id"] == Expr("azurerm_service_plan.this.id")
    assert plan["os_type"] == "Linux"
    assert plan["sku_name"] == "Y1"


def test_function_app_runs_as_its_user_assigned_identity(app: dict[str, Any], app_settings: dict[str, Any]) -> None:
    identity = block(app, "identity")
    assert identity["type"] == "UserAssigned"
    assert identity["identity_ids"] == [Expr(f"{IDENTITY}.id")]
    assert app["key_vault_reference_identity_id"] == Expr(f"{IDENTITY}.id")
    # Exactly the user-assigned identity, by its client id: not the developer credential chain.
    assert app_settings["AZURE_CREDENTIAL_KIND"] == "managed-identity"
    assert app_settings["AZURE_CLIENT_ID"] == Expr(f"{IDENTITY}.client_id")


# --- app settings ----------------------------------------------------------


def test_every_contract_setting_is_wired_from_its_variable(app_settings: dict[str, Any]) -> None:
    for setting, variable in SETTINGS_FROM_VARIABLES.items():
        value = app_settings.get(setting)
        assert isinstance(value, Expr), f"{setting} must be wired from {variable}, got {value!r}"
        assert value.refers_to(variable), f"{setting} = {value.text} does not use {variable}"


def test_version_store_is_reached_by_endpoint_and_identity_not_by_connection_string(
    app_settings: dict[str, Any],
) -> None:
    assert app_settings["VERSION_STORE_ENDPOINT"].refers_to("azurerm_storage_account.data.primary_table_endpoint")
    assert app_settings["VERSION_TABLE"] == Expr("azurerm_storage_table.version.name")
    assert app_settings["HISTORY_TABLE"] == Expr("azurerm_storage_table.history.name")
    assert "VERSION_STORE_CONNECTION" not in app_settings
    assert "AzureWebJobsStorage" not in app_settings


def test_slack_webhook_is_only_ever_a_key_vault_reference(module: Module, app_settings: dict[str, Any]) -> None:
    webhook = app_settings["SLACK_WEBHOOK_URL"]
    assert isinstance(webhook, Expr)
    assert '"@Microsoft.KeyVault(SecretUri=${local.slack_webhook_secret_uri})"' in webhook.text
    assert module.locals["slack_webhook_secret_uri"].refers_to("azurerm_key_vault.this.vault_uri")
    # The secret value never passes through terraform (and so never lands in state).
    assert not module.resources_of("azurerm_key_vault_secret")
    assert not [name for name in module.variables if "webhook_url" in name]


def test_no_app_setting_holds_a_literal_secret(app_settings: dict[str, Any]) -> None:
    secretish = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|CONNECTION|ACCOUNTKEY|SAS", re.IGNORECASE)
    for name, value in app_settings.items():
        if secretish.search(name):
            assert isinstance(value, Expr), f"{name} is a literal: secrets must not be written into settings"
        text = value.text if isinstance(value, Expr) else str(value)
        assert "AccountKey=" not in text, f"{name} carries a storage account key"
        assert "hooks.slack.com" not in text, f"{name} carries a Slack webhook URL"
    assert not {"tenant_id", "function_client_id", "function_client_secret", "AZURE_CLIENT_SECRET"} & set(app_settings)


def test_no_client_secret_or_webhook_literal_anywhere_in_the_module(module: Module) -> None:
    for name, text in module.source.items():
        code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
        assert "client_secret" not in code, f"{name} mentions a client secret"
        assert "hooks.slack.com" not in code, f"{name} holds a Slack webhook URL"
        assert "client-secret" not in code, f"{name} selects the client-secret credential"


def test_application_insights_ingestion_needs_the_identity(module: Module, app_settings: dict[str, Any]) -> None:
    insights = module.resource("azurerm_application_insights", "this")
    assert insights["local_authentication_enabled"] is False
    workspace = module.resource("azurerm_log_analytics_workspace", "this")
    assert workspace["local_authentication_enabled"] is False
    assert insights["workspace_id"] == Expr("azurerm_log_analytics_workspace.this.id")
    assert app_settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"].text == (
        "ClientId=${azurerm_user_assigned_identity.this.client_id};Authorization=AAD"
    )


# --- least privilege -------------------------------------------------------


def test_custom_role_allows_exactly_the_conductor_actions(module: Module) -> None:
    role = module.resource("azurerm_role_definition", "conductor")
    permissions = block(role, "permissions")
    assert permissions["actions"] == Expr("local.role_actions")
    actions = module.locals["conductor_actions"]
    assert sorted(actions) == sorted(CONDUCTOR_ACTIONS)
    assert len(actions) == len(set(actions))
    assert not [action for action in actions if "*" in action]
    assert permissions.get("not_actions", []) == []
    assert "data_actions" not in permissions


def test_custom_role_reads_alerts_only_when_the_health_check_reads_them(module: Module) -> None:
    # HEALTH_CHECK=arm+alerts lists the alerts fired on each upgraded cluster; HEALTH_CHECK=arm never does.
    assert module.locals["alert_read_actions"] == ["Microsoft.AlertsManagement/alerts/read"]
    assert module.locals["role_actions"] == Expr(
        'concat(local.conductor_actions, var.health_check == "arm+alerts" ? local.alert_read_actions : [])'
    )
    assert module.variables["health_check"]["default"] == "arm"


def test_custom_role_is_assignable_only_at_the_target_scopes(module: Module) -> None:
    role = module.resource("azurerm_role_definition", "conductor")
    assert role["assignable_scopes"] == Expr("var.target_scopes")


def test_custom_role_is_assigned_to_the_identity_on_each_target_scope_only(module: Module) -> None:
    assignment = module.resource("azurerm_role_assignment", "conductor")
    assert assignment["for_each"] == Expr("toset(var.target_scopes)")
    assert assignment["scope"] == Expr("each.value")
    assert assignment["principal_id"] == Expr(f"{IDENTITY}.principal_id")
    assert assignment["role_definition_id"].refers_to("azurerm_role_definition.conductor.role_definition_id")


def test_data_plane_roles_are_scoped_to_their_one_resource(module: Module) -> None:
    expected = {
        "table_data_contributor": ("Storage Table Data Contributor", "azurerm_storage_account.data.id"),
        "key_vault_secrets_user": ("Key Vault Secrets User", "azurerm_key_vault.this.id"),
        "monitoring_metrics_publisher": ("Monitoring Metrics Publisher", "azurerm_application_insights.this.id"),
    }
    for name, (role, scope) in expected.items():
        assignment = module.resource("azurerm_role_assignment", name)
        assert assignment["role_definition_name"] == role
        assert assignment["scope"] == Expr(scope)
        assert assignment["principal_id"] == Expr(f"{IDENTITY}.principal_id")


def test_identity_holds_no_role_beyond_the_four_it_needs(module: Module) -> None:
    held_by_identity = {
        name
        for name, body in module.resources_of("azurerm_role_assignment").items()
        if isinstance(body["principal_id"], Expr) and body["principal_id"].refers_to(f"{IDENTITY}.principal_id")
    }
    assert held_by_identity == {
        "conductor",
        "table_data_contributor",
        "key_vault_secrets_user",
        "monitoring_metrics_publisher",
    }


def test_no_role_assignment_uses_a_broad_built_in_role_or_a_fixed_subscription_scope(module: Module) -> None:
    broad = {"Owner", "Contributor", "User Access Administrator", "Key Vault Administrator",
             "Storage Account Contributor", "Azure Kubernetes Service Contributor Role"}
    for name, body in module.resources_of("azurerm_role_assignment").items():
        assert body.get("role_definition_name") not in broad, f"{name} uses a broad built-in role"
        scope = body["scope"]
        assert isinstance(scope, Expr), f"{name} has a literal scope {scope!r}"
        assert "azurerm_subscription" not in scope.text and "client_config" not in scope.text, (
            f"{name} is scoped to a whole subscription"
        )


def test_operators_not_the_app_may_write_the_webhook_secret(module: Module) -> None:
    officer = module.resource("azurerm_role_assignment", "key_vault_secrets_officer")
    assert officer["role_definition_name"] == "Key Vault Secrets Officer"
    assert officer["scope"] == Expr("azurerm_key_vault.this.id")
    assert officer["for_each"] == Expr("var.key_vault_secrets_officer_principal_ids")
    assert officer["principal_id"] == Expr("each.value")


# --- key vault and storage -------------------------------------------------


def test_key_vault_uses_rbac_with_purge_protection(module: Module) -> None:
    vault = module.resource("azurerm_key_vault", "this")
    assert vault["rbac_authorization_enabled"] is True
    assert vault["purge_protection_enabled"] is True
    assert "access_policy" not in vault
    assert "enable_rbac_authorization" not in vault


@pytest.mark.parametrize("account", ["runtime", "data"])
def test_storage_accounts_require_tls_1_2_and_forbid_public_blobs(module: Module, account: str) -> None:
    body = module.resource("azurerm_storage_account", account)
    assert body["min_tls_version"] == "TLS1_2"
    assert body["https_traffic_only_enabled"] is True
    assert body["allow_nested_items_to_be_public"] is False
    assert body["cross_tenant_replication_enabled"] is False
    assert body["default_to_oauth_authentication"] is True


def test_shared_key_exists_only_on_the_runtime_account(module: Module, app: dict[str, Any]) -> None:
    accounts = module.resources_of("azurerm_storage_account")
    with_shared_key = {name for name, body in accounts.items() if body.get("shared_access_key_enabled", True) is not False}
    assert with_shared_key == {"runtime"}
    # ... and that key goes only to the Functions runtime (AzureWebJobsStorage).
    assert app["storage_account_name"] == Expr("azurerm_storage_account.runtime.name")
    assert app["storage_account_access_key"] == Expr("azurerm_storage_account.runtime.primary_access_key")


def test_version_and_history_tables_live_in_the_keyless_data_account(module: Module) -> None:
    for name, variable in (("version", "var.version_table"), ("history", "var.history_table")):
        table = module.resource("azurerm_storage_table", name)
        assert table["name"] == Expr(variable)
        assert table["storage_account_id"] == Expr("azurerm_storage_account.data.id")
    assert module.variables["version_table"]["default"] == "AKSVersion"
    assert module.variables["history_table"]["default"] == "AKSUpgradeHistory"


# --- checkov skips ---------------------------------------------------------


def test_every_checkov_skip_carries_a_reason() -> None:
    skip = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")
    found = 0
    for path in sorted(MODULE_DIR.rglob("*.tf")):
        for line in path.read_text().splitlines():
            match = skip.search(line)
            if match:
                found += 1
                reason = (match.group(2) or "").strip()
                assert len(reason) >= 30, f"{path.name}: skip of {match.group(1)} needs a written reason"
    assert found > 0


def test_check_script_pins_checkov() -> None:
    script = (REPO / "scripts" / "check-terraform.sh").read_text()
    assert re.search(r'^CHECKOV_VERSION="\d+\.\d+\.\d+"$', script, re.MULTILINE)
    assert "checkov\" -d terraform" in script

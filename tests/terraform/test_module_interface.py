"""The module's interface: typed, described, validated inputs; described outputs; pins.

The validation regexes are taken from the .tf files and run here, so the
examples in this file document what the module accepts and rejects.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.terraform.hcl import MODULE_DIR, Expr, Module, hcl_regex, load_module


@pytest.fixture(scope="module")
def module() -> Module:
    return load_module()


def validation_regex(module: Module, variable: str, index: int = 0) -> re.Pattern[str]:
    """The first regex(...) literal in the variable's ``index``-th validation condition."""
    condition = module.variables[variable]["validation"][index]["condition"]
    assert isinstance(condition, Expr)
    match = re.search(r'regex\("((?:[^"\\]|\\.)*)"', condition.text)
    assert match, f"no regex in {variable} validation {index}"
    return hcl_regex(match.group(1))


def test_terraform_and_azurerm_4_are_pinned(module: Module) -> None:
    settings = module.terraform[0]
    assert settings["required_version"].startswith(">= 1.")
    azurerm = settings["required_providers"][0]["azurerm"]
    assert azurerm["source"] == "hashicorp/azurerm"
    assert re.fullmatch(r">= 4\.\d+, < 5\.0", azurerm["version"])


def test_every_variable_is_typed_and_described(module: Module) -> None:
    for name, body in module.variables.items():
        assert "type" in body, f"variable {name} has no type"
        description = body.get("description")
        assert isinstance(description, str) and len(description) > 20, f"variable {name} needs a description"


def test_required_variables_come_first_and_reject_null(module: Module) -> None:
    required = ["name", "resource_group_name", "location", "target_scopes"]
    assert list(module.variables)[: len(required)] == required
    for name in required:
        assert "default" not in module.variables[name]
        assert module.variables[name]["nullable"] is False


def test_every_validation_message_shows_an_example_value(module: Module) -> None:
    validated = 0
    for name, body in module.variables.items():
        for validation in body.get("validation", []):
            validated += 1
            message = validation["error_message"]
            assert isinstance(message, str) and "e.g." in message, f"{name}: message needs an example value"
    assert validated >= 25


@pytest.mark.parametrize(
    "variable",
    [
        "name", "resource_group_name", "location", "target_scopes", "rollout_plan", "upgrade_schedule",
        "subscription_ids", "cluster_selector", "opt_out_tag", "target_policy", "min_soak_hours",
        "freeze_dates", "max_parallel_upgrades", "arm_endpoint", "version_table", "history_table",
        "poll_interval_seconds", "upgrade_timeout_minutes", "slack_webhook_secret_name",
        "approval_environments", "approval_timeout_hours", "health_check", "health_settle_minutes",
        "alert_email_receivers",
    ],
)
def test_setting_and_naming_variables_are_validated(module: Module, variable: str) -> None:
    assert module.variables[variable].get("validation"), f"{variable} has no validation block"


def test_setting_defaults_match_the_contract(module: Module) -> None:
    defaults: dict[str, Any] = {name: body.get("default") for name, body in module.variables.items()}
    assert defaults["upgrade_schedule"] == "0 0 10 * * 1-4"
    assert defaults["cluster_selector"] == "tag"
    assert defaults["opt_out_tag"] == "aks-upgrade"
    assert defaults["target_policy"] == "latest"
    assert defaults["min_soak_hours"] == 20
    assert defaults["max_parallel_upgrades"] == 5
    assert defaults["dry_run"] is False
    assert defaults["arm_endpoint"] == "https://management.azure.com"
    assert defaults["poll_interval_seconds"] == 60
    assert defaults["upgrade_timeout_minutes"] == 360
    assert defaults["approval_environments"] == []
    assert defaults["approval_timeout_hours"] == 24
    assert defaults["health_check"] == "arm"
    assert defaults["health_settle_minutes"] == 10
    plan = defaults["rollout_plan"]
    assert [(wave["day"], wave["environment"]) for wave in plan["waves"]] == [
        ("Mon", "sandbox"), ("Tue", "dev"), ("Wed", "test"), ("Thu", "prod"),
    ]


def test_every_output_is_described(module: Module) -> None:
    for name, body in module.outputs.items():
        assert isinstance(body.get("description"), str) and body["description"], f"output {name} needs a description"
    assert {"function_app_name", "function_app_default_hostname", "identity_principal_id"} <= set(module.outputs)
    assert {"action_group_id", "alert_rule_ids"} <= set(module.outputs)


def numeric_bounds(module: Module, variable: str) -> tuple[int, int]:
    """The (low, high) a number variable's first validation allows, read from ``v >= low && v <= high``."""
    condition = module.variables[variable]["validation"][0]["condition"]
    assert isinstance(condition, Expr)
    name = re.escape(f"var.{variable}")
    match = re.search(rf"{name} >= (\d+) && {name} <= (\d+) && floor\({name}\) == {name}", condition.text)
    assert match, f"{variable} needs a whole-number range check"
    return int(match.group(1)), int(match.group(2))


def test_promotion_gate_numbers_have_the_apps_ranges(module: Module) -> None:
    assert numeric_bounds(module, "approval_timeout_hours") == (1, 144)
    assert numeric_bounds(module, "health_settle_minutes") == (0, 1440)


def test_the_settle_time_must_be_shorter_than_the_upgrade_timeout_as_the_app_requires(module: Module) -> None:
    conditions = [v["condition"] for v in module.variables["health_settle_minutes"]["validation"]]
    assert Expr("var.health_settle_minutes < var.upgrade_timeout_minutes") in conditions


def test_health_check_takes_arm_or_arm_plus_alerts(module: Module) -> None:
    condition = module.variables["health_check"]["validation"][0]["condition"]
    assert condition == Expr('contains(["arm", "arm+alerts"], var.health_check)')


def test_approval_environments_must_be_environments_of_the_rollout_plan(module: Module) -> None:
    known, unique = (v["condition"] for v in module.variables["approval_environments"]["validation"])
    assert known.refers_to("var.rollout_plan.waves") and known.refers_to("var.approval_environments")
    assert "contains(" in known.text
    assert unique == Expr("length(distinct(var.approval_environments)) == length(var.approval_environments)")


@pytest.mark.parametrize("address, accepted", [
    ("platform-team@example.com", True),
    ("ops+aks@sub.example.co.uk", True),
    ("platform-team", False),
    ("platform team@example.com", False),
    ("a@b", False),
    ("@example.com", False),
])
def test_alert_receivers_need_an_email_address(module: Module, address: str, accepted: bool) -> None:
    assert bool(validation_regex(module, "alert_email_receivers", 0).search(address)) is accepted


@pytest.mark.parametrize("name, accepted", [
    ("platform-team", True),
    ("Platform team (EU)", True),
    ("x", True),
    ("x" * 128, True),
    ("x" * 129, False),
    ("", False),
    (" lead", False),
    ("lead ", False),
])
def test_alert_receiver_names_are_1_to_128_characters_without_outer_spaces(module: Module, name: str, accepted: bool) -> None:
    assert bool(validation_regex(module, "alert_email_receivers", 1).search(name)) is accepted


def test_alert_receiver_names_must_be_unique_ignoring_case(module: Module) -> None:
    condition = module.variables["alert_email_receivers"]["validation"][2]["condition"]
    assert "lower(receiver.name)" in condition.text and "distinct(" in condition.text


@pytest.mark.parametrize(
    "scope",
    [
        "/subscriptions/00000000-0000-0000-0000-000000000000",
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-aks-prod",
        "/subscriptions/ABCDEF00-0000-0000-0000-000000000000/resourceGroups/rg.aks_(eu)",
    ],
)
def test_target_scopes_accept_subscriptions_and_resource_groups(module: Module, scope: str) -> None:
    assert validation_regex(module, "target_scopes", 1).search(scope)


@pytest.mark.parametrize(
    "scope",
    [
        "/",
        "/subscriptions/*",
        "/subscriptions/00000000-0000-0000-0000-000000000000/",
        "/providers/Microsoft.Management/managementGroups/platform",
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks",
        "00000000-0000-0000-0000-000000000000",
    ],
)
def test_target_scopes_reject_wildcards_roots_and_other_scope_kinds(module: Module, scope: str) -> None:
    assert not validation_regex(module, "target_scopes", 1).search(scope)


@pytest.mark.parametrize("name", ["abc", "aksupg-prod", "a1-b2-c3-d4-e5-f", "aksupgradeconduc"])
def test_every_valid_name_yields_valid_storage_and_key_vault_names(module: Module, name: str) -> None:
    assert validation_regex(module, "name").search(name)
    compact = name.replace("-", "")
    for suffix in ("run", "dat"):
        assert re.fullmatch(r"[a-z0-9]{3,24}", f"st{compact}{suffix}")
    assert re.fullmatch(r"[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]", f"kv-{name}")


@pytest.mark.parametrize("name", ["ab", "Aksupg", "1aksupg", "aksupg-", "aksupg_prod", "aksupgradeconduct"])
def test_names_that_would_break_resource_naming_are_rejected(module: Module, name: str) -> None:
    assert not validation_regex(module, "name").search(name)


@pytest.mark.parametrize("schedule, accepted", [
    ("0 0 10 * * 1-4", True),
    ("0 30 6 * * Mon", True),
    ("0 0 * * * 1-4", False),
    ("0 */5 10 * * *", False),
    ("0 10 * * 1-4", False),
])
def test_upgrade_schedule_needs_a_fixed_time_of_day(module: Module, schedule: str, accepted: bool) -> None:
    assert bool(validation_regex(module, "upgrade_schedule").search(schedule)) is accepted


@pytest.mark.parametrize("entry, accepted", [
    ("2025-12-24", True),
    ("2025-12-22..2026-01-02", True),
    ("2025-13-01", False),
    ("24/12/2025", False),
    ("2025-12-22 .. 2026-01-02", False),
])
def test_freeze_dates_take_dates_and_ranges(module: Module, entry: str, accepted: bool) -> None:
    assert bool(validation_regex(module, "freeze_dates").search(entry)) is accepted


def test_example_deploys_the_module_with_target_scopes_in_dry_run() -> None:
    example = load_module(MODULE_DIR / "examples" / "default")
    call = example.modules["aks_upgrade_conductor"]
    assert call["source"] == "../.."
    assert isinstance(call["target_scopes"], Expr)
    assert call["dry_run"] == Expr("var.dry_run")
    assert example.variables["dry_run"]["default"] is True
    assert call["alert_email_receivers"] == Expr("var.alert_email_receivers")
    assert example.variables["alert_email_receivers"]["default"] == []
    provider = example.source["terraform.tf"]
    assert re.search(r"storage_use_azuread\s*=\s*true", provider)


def test_offline_terraform_test_covers_the_scope_validation() -> None:
    tests = (MODULE_DIR / "tests" / "unit" / "validations.tftest.hcl").read_text()
    assert 'mock_provider "azurerm"' in tests
    assert "expect_failures = [var.target_scopes]" in tests


def test_offline_terraform_test_covers_the_promotion_gate_and_alert_validations() -> None:
    tests = (MODULE_DIR / "tests" / "unit" / "validations.tftest.hcl").read_text()
    for variable in ("approval_environments", "approval_timeout_hours", "health_check", "health_settle_minutes",
                     "alert_email_receivers"):
        assert f"expect_failures = [var.{variable}]" in tests, f"no offline case rejects a bad {variable}"
    assert 'run "alerts_email_the_receivers"' in tests

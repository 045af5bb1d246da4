"""Settings: read once from a mapping, defaults per the contract, every bad setting named at once.

Every test starts from an empty mapping, so nothing depends on the developer's shell.
"""

from __future__ import annotations

import json
from datetime import time

import pytest

from shared import settings
from shared.errors import ConfigError

SLACK = "https://hooks.slack.com/services/T000/B000/very-secret-slack-token"
CONNECTION = (
    "DefaultEndpointsProtocol=https;AccountName=prodacct;AccountKey=c2VjcmV0LWFjY291bnQta2V5LXZhbHVl;EndpointSuffix=core.windows.net"
)
CLIENT_SECRET = "s3cr3t~client~secret~value"


def load(**values: str) -> settings.Settings:
    return settings.load(dict(values))


def problems(**values: str) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        settings.load(dict(values))
    return caught.value.problems


# -- defaults -------------------------------------------------------------------------------------
def test_an_empty_mapping_gives_the_contract_defaults() -> None:
    s = load()
    assert s.rollout_plan.timezone == "Europe/Oslo"
    assert [(w.weekday, w.environment) for w in s.rollout_plan.waves] == [(0, "sandbox"), (1, "dev"), (2, "test"), (3, "prod")]
    assert s.upgrade_schedule == "0 0 10 * * 1-4"
    assert s.run_time_of_day == time(10, 0, 0)
    assert s.subscription_ids == ()
    assert s.cluster_selector == "tag"
    assert s.opt_out_tag == "aks-upgrade"
    assert s.target_policy == "latest"
    assert s.min_soak_hours == 20
    assert s.freeze_windows == ()
    assert s.max_parallel_upgrades == 5
    assert s.dry_run is False
    assert s.arm_endpoint == "https://management.azure.com"
    assert s.credential_kind == "default"
    assert s.version_table == "AKSVersion"
    assert s.version_store_connection == settings.AZURITE_CONNECTION
    assert s.slack_webhook_url is None


def test_blank_values_count_as_unset() -> None:
    assert load(TARGET_POLICY="  ", MIN_SOAK_HOURS="", DRY_RUN=" ") == load()


def test_settings_are_frozen() -> None:
    s = load()
    with pytest.raises(AttributeError):
        s.dry_run = True  # type: ignore[misc]


# -- values that are read -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"), [("true", True), ("TRUE", True), ("1", True), ("yes", True), ("false", False), ("0", False), ("off", False)]
)
def test_dry_run_reads_common_boolean_spellings(raw: str, expected: bool) -> None:
    assert load(DRY_RUN=raw).dry_run is expected


def test_explicit_values_are_read() -> None:
    plan = {"timezone": "UTC", "waves": [{"day": "friday", "environment": "lab"}, {"day": "SAT", "environment": "live"}]}
    s = load(
        ROLLOUT_PLAN=json.dumps(plan),
        UPGRADE_SCHEDULE="30 15 6 * * 5-6",
        SUBSCRIPTION_IDS="00000000-0000-0000-0000-000000000001, 00000000-0000-0000-0000-000000000002",
        CLUSTER_SELECTOR="subscription-name",
        OPT_OUT_TAG="no-upgrade",
        TARGET_POLICY="stable",
        MIN_SOAK_HOURS="36.5",
        FREEZE_DATES="2026-12-24..2026-12-26",
        MAX_PARALLEL_UPGRADES="2",
        ARM_ENDPOINT="https://management.usgovcloudapi.net/",
        VERSION_TABLE="Versions",
    )
    assert s.rollout_plan.environments == ("lab", "live") and s.rollout_plan.lead == "lab"
    assert s.run_time_of_day == time(6, 15, 30)
    assert len(s.subscription_ids) == 2
    assert (s.cluster_selector, s.opt_out_tag, s.target_policy) == ("subscription-name", "no-upgrade", "stable")
    assert s.min_soak_hours == 36.5
    assert [str(w) for w in s.freeze_windows] == ["2026-12-24..2026-12-26"]
    assert s.max_parallel_upgrades == 2
    assert s.arm_endpoint == "https://management.usgovcloudapi.net"
    assert s.version_table == "Versions"


def test_the_version_store_falls_back_to_azure_webjobs_storage() -> None:
    assert load(AzureWebJobsStorage=CONNECTION).version_store_connection == CONNECTION
    assert (
        load(AzureWebJobsStorage="UseDevelopmentStorage=true", VERSION_STORE_CONNECTION=CONNECTION).version_store_connection == CONNECTION
    )


# -- bad settings, all at once --------------------------------------------------------------------
def test_several_bad_settings_raise_one_error_naming_each() -> None:
    bad_plan = json.dumps(
        {
            "timezone": "Europe/Oslo",
            "waves": [
                {"day": "Funday", "environment": "sandbox"},
                {"day": "Tue", "environment": "dev"},
                {"day": "Wed", "environment": "dev"},
            ],
        }
    )
    with pytest.raises(ConfigError) as caught:
        settings.load(
            {
                "ROLLOUT_PLAN": bad_plan,
                "UPGRADE_SCHEDULE": "0 0 */2 * * 1-4",
                "FREEZE_DATES": "2026-12-24, christmas",
                "TARGET_POLICY": "newest",
                "AZURE_CREDENTIAL_KIND": "emulator",
                "ARM_ENDPOINT": "https://management.azure.com",
                "MAX_PARALLEL_UPGRADES": "0",
            }
        )
    found = caught.value.problems
    assert set(found) == {
        "ROLLOUT_PLAN",
        "UPGRADE_SCHEDULE",
        "FREEZE_DATES",
        "TARGET_POLICY",
        "AZURE_CREDENTIAL_KIND",
        "MAX_PARALLEL_UPGRADES",
    }
    assert "unknown weekday 'Funday'" in found["ROLLOUT_PLAN"]
    assert "environment 'dev' appears more than once" in found["ROLLOUT_PLAN"]
    assert "hour field" in found["UPGRADE_SCHEDULE"]
    assert "'christmas'" in found["FREEZE_DATES"]
    assert "'newest'" in found["TARGET_POLICY"]
    assert "loopback" in found["AZURE_CREDENTIAL_KIND"]
    message = str(caught.value)
    assert message.startswith("invalid settings (6):")
    for name in found:
        assert f"{name}: " in message


@pytest.mark.parametrize(
    ("name", "value", "complaint"),
    [
        ("ROLLOUT_PLAN", "{not json", "not valid JSON"),
        ("ROLLOUT_PLAN", '["Mon", "sandbox"]', "must be a JSON object"),
        ("UPGRADE_SCHEDULE", "0 10 * * 1-4", "six fields"),
        ("UPGRADE_SCHEDULE", "0 0 10 * * 1-4 x", "six fields"),
        ("SUBSCRIPTION_IDS", "00000000-0000-0000-0000-000000000001,prod-sub", "prod-sub"),
        ("CLUSTER_SELECTOR", "label", "'label'"),
        ("OPT_OUT_TAG", "a/b", "not a valid tag name"),
        ("TARGET_POLICY", "Latest", "'Latest'"),
        ("MIN_SOAK_HOURS", "twenty", "'twenty'"),
        ("MIN_SOAK_HOURS", "-1", "'-1'"),
        ("MIN_SOAK_HOURS", "nan", "'nan'"),
        ("FREEZE_DATES", "2026-12-31..2026-12-24", "ends before it starts"),
        ("MAX_PARALLEL_UPGRADES", "five", "'five'"),
        ("MAX_PARALLEL_UPGRADES", "101", "between 1 and 100"),
        ("DRY_RUN", "maybe", "'maybe'"),
        ("ARM_ENDPOINT", "http://management.azure.com", "https://"),
        ("AZURE_CREDENTIAL_KIND", "password", "'password'"),
        ("VERSION_TABLE", "aks-version", "not a valid table name"),
        ("VERSION_STORE_CONNECTION", "not a connection string", "not a storage connection string"),
        ("SLACK_WEBHOOK_URL", "hooks.slack.com/services/x", "webhook URL"),
        # What the host leaves in the setting when it cannot read the secret: say so, not "bad URL".
        ("SLACK_WEBHOOK_URL", "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/slack/)", "Key Vault reference"),
    ],
)
def test_each_bad_setting_is_named_with_what_is_wrong(name: str, value: str, complaint: str) -> None:
    found = problems(**{name: value})
    assert set(found) == {name}
    assert complaint in found[name]


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://127.0.0.1:8443",
        "https://127.0.0.5",
        "https://127.255.255.254:1",
        "https://localhost:8443",
        "https://LOCALHOST",
        "https://[::1]:8443",
    ],
)
def test_the_emulator_credential_is_accepted_against_a_loopback_endpoint(endpoint: str) -> None:
    s = load(AZURE_CREDENTIAL_KIND="emulator", ARM_ENDPOINT=endpoint)
    assert s.credential_kind == "emulator"


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://management.azure.com",
        "https://10.0.0.1",
        "https://128.0.0.1",
        "https://localhost.example.com",
        "https://127.0.0.1.nip.io",
        "https://[::2]",
    ],
)
def test_the_emulator_credential_is_refused_against_anything_else(endpoint: str) -> None:
    found = problems(AZURE_CREDENTIAL_KIND="emulator", ARM_ENDPOINT=endpoint)
    assert set(found) == {"AZURE_CREDENTIAL_KIND"}
    assert "static token" in found["AZURE_CREDENTIAL_KIND"]


def test_client_secret_needs_tenant_client_id_and_secret_each_named() -> None:
    assert set(problems(AZURE_CREDENTIAL_KIND="client-secret")) == {"tenant_id", "function_client_id", "function_client_secret"}
    assert set(problems(AZURE_CREDENTIAL_KIND="client-secret", tenant_id="t")) == {"function_client_id", "function_client_secret"}


def test_client_secret_with_all_three_settings_is_accepted() -> None:
    s = load(AZURE_CREDENTIAL_KIND="client-secret", tenant_id="tenant", function_client_id="client", function_client_secret=CLIENT_SECRET)
    assert (s.tenant_id, s.client_id, s.client_secret) == ("tenant", "client", CLIENT_SECRET)


# -- secrets --------------------------------------------------------------------------------------
SECRETS = {"SLACK_WEBHOOK_URL": SLACK, "VERSION_STORE_CONNECTION": CONNECTION, "function_client_secret": CLIENT_SECRET}


def test_secrets_never_appear_in_the_settings_repr() -> None:
    s = load(AZURE_CREDENTIAL_KIND="client-secret", tenant_id="t", function_client_id="c", **SECRETS)
    assert s.slack_webhook_url == SLACK and s.version_store_connection == CONNECTION
    text = repr(s)
    for secret in (SLACK, CONNECTION, CLIENT_SECRET, "AccountKey", "very-secret-slack-token"):
        assert secret not in text


def test_secrets_never_appear_in_the_config_error() -> None:
    # GIVEN valid secrets next to bad settings
    with pytest.raises(ConfigError) as caught:
        settings.load({**SECRETS, "AZURE_CREDENTIAL_KIND": "client-secret", "TARGET_POLICY": "newest"})
    # THEN the error names the bad settings and none of the secrets
    assert set(caught.value.problems) == {"tenant_id", "function_client_id", "TARGET_POLICY"}
    for secret in SECRETS.values():
        assert secret not in str(caught.value) and secret not in repr(caught.value)


def test_bad_secret_values_are_named_but_not_shown() -> None:
    bad_hook = "ftp://hooks.example.com/very-secret-slack-token"
    bad_connection = "very-secret-account-key-without-structure"
    with pytest.raises(ConfigError) as caught:
        settings.load({"SLACK_WEBHOOK_URL": bad_hook, "VERSION_STORE_CONNECTION": bad_connection})
    assert set(caught.value.problems) == {"SLACK_WEBHOOK_URL", "VERSION_STORE_CONNECTION"}
    assert "very-secret" not in str(caught.value)


@pytest.mark.parametrize("name", ["dev/eu", "dev#1", "dev?x", "dev\x01", "x" * 2000, "prød"], ids=lambda name: repr(name)[:24])
def test_an_environment_name_tables_cannot_key_is_a_bad_rollout_plan(name: str) -> None:
    plan = json.dumps({"timezone": "UTC", "waves": [{"day": "Mon", "environment": "sandbox"}, {"day": "Tue", "environment": name}]})
    found = problems(ROLLOUT_PLAN=plan)
    assert set(found) == {"ROLLOUT_PLAN"}
    assert "waves[1].environment must be 1-63 characters" in found["ROLLOUT_PLAN"]
    assert len(found["ROLLOUT_PLAN"]) < 400


def test_a_subscription_listed_twice_in_any_case_is_listed_once_in_first_seen_order() -> None:
    first, second = "0000000a-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002"
    s = load(SUBSCRIPTION_IDS=f"{first}, {second},{first.upper()} ,{first}, {second}")
    assert s.subscription_ids == (first, second)


# -- numbers are plain ASCII digits: what an operator reads is what the app uses -----------------
@pytest.mark.parametrize("name", ["MAX_PARALLEL_UPGRADES", "POLL_INTERVAL_SECONDS", "UPGRADE_TIMEOUT_MINUTES"])
@pytest.mark.parametrize(
    "value",
    ["5_0", "٥", "５", "𝟓", "+5", "5.0", "0x5", "5e1", "1" + "0" * 5000],
    ids=lambda value: repr(value)[:16],
)
def test_a_whole_number_setting_accepts_ascii_digits_only(name: str, value: str) -> None:
    found = problems(**{name: value})
    assert set(found) == {name}
    assert "plain ASCII digits" in found[name]
    assert len(found[name]) < 400


@pytest.mark.parametrize(
    "value",
    ["2_0", "٢٠", "２０", "20e0", "1e3", "inf", "Infinity", "nan", "+20", ".5", "20.", "20.5.1", "0x14"],
    ids=lambda value: repr(value)[:16],
)
def test_min_soak_hours_accepts_ascii_digits_with_an_optional_fraction_only(value: str) -> None:
    found = problems(MIN_SOAK_HOURS=value)
    assert set(found) == {"MIN_SOAK_HOURS"}
    assert "plain ASCII digits" in found["MIN_SOAK_HOURS"]


@pytest.mark.parametrize(
    ("name", "value", "attribute", "expected"),
    [
        ("MAX_PARALLEL_UPGRADES", "050", "max_parallel_upgrades", 50),
        ("POLL_INTERVAL_SECONDS", " 30 ", "poll_interval_seconds", 30),
        ("UPGRADE_TIMEOUT_MINUTES", "720", "upgrade_timeout_minutes", 720),
        ("MIN_SOAK_HOURS", "0.25", "min_soak_hours", 0.25),
        ("MIN_SOAK_HOURS", "48", "min_soak_hours", 48.0),
    ],
)
def test_numbers_in_plain_ascii_digits_are_read(name: str, value: str, attribute: str, expected: float) -> None:
    assert getattr(load(**{name: value}), attribute) == expected


# -- the schedule fires in UTC: waves it never reaches are a warning, not a bad setting -----------
def test_the_default_schedule_reaches_every_default_wave() -> None:
    assert load().schedule_warnings == ()


def test_a_late_utc_schedule_warns_that_the_lead_never_runs_in_oslo() -> None:
    s = load(UPGRADE_SCHEDULE="0 30 23 * * 1-4")

    [warning] = s.schedule_warnings
    assert "'sandbox'" in warning and "Monday" in warning and "Europe/Oslo" in warning
    assert "UPGRADE_SCHEDULE '0 30 23 * * 1-4'" in warning


def test_a_sunday_only_schedule_warns_about_every_weekday_wave_in_plan_order() -> None:
    s = load(UPGRADE_SCHEDULE="0 0 10 * * 0")

    assert [w.split("'")[1] for w in s.schedule_warnings] == ["sandbox", "dev", "test", "prod"]
    for warning, day in zip(s.schedule_warnings, ("Monday", "Tuesday", "Wednesday", "Thursday"), strict=True):
        assert f"on {day}s" in warning

"""One frozen Settings object, built once from a mapping (the environment by default).

Every setting is checked; all problems are reported together in one ConfigError naming each
setting, so an operator fixes a broken deployment in one pass. Secrets (the Slack webhook, the
storage connection string, the client secret) are kept out of ``repr`` and never logged.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import time
from urllib.parse import urlparse

from shared.domain import freeze, numbers, rollout, schedule, targets
from shared.domain.clusters import SELECTORS
from shared.domain.text import shown
from shared.errors import ConfigError

# Setting names are a contract with deployments, Terraform and test harnesses (docs/architecture.md,
# "Settings"): add, don't rename.
ROLLOUT_PLAN = "ROLLOUT_PLAN"
UPGRADE_SCHEDULE = "UPGRADE_SCHEDULE"
SUBSCRIPTION_IDS = "SUBSCRIPTION_IDS"
CLUSTER_SELECTOR = "CLUSTER_SELECTOR"
OPT_OUT_TAG = "OPT_OUT_TAG"
TARGET_POLICY = "TARGET_POLICY"
MIN_SOAK_HOURS = "MIN_SOAK_HOURS"
FREEZE_DATES = "FREEZE_DATES"
MAX_PARALLEL_UPGRADES = "MAX_PARALLEL_UPGRADES"
DRY_RUN = "DRY_RUN"
ARM_ENDPOINT = "ARM_ENDPOINT"
AZURE_CREDENTIAL_KIND = "AZURE_CREDENTIAL_KIND"
VERSION_STORE_CONNECTION = "VERSION_STORE_CONNECTION"
VERSION_STORE_ENDPOINT = "VERSION_STORE_ENDPOINT"
AZURE_WEBJOBS_STORAGE = "AzureWebJobsStorage"
VERSION_TABLE = "VERSION_TABLE"
HISTORY_TABLE = "HISTORY_TABLE"
SLACK_WEBHOOK_URL = "SLACK_WEBHOOK_URL"
POLL_INTERVAL_SECONDS = "POLL_INTERVAL_SECONDS"
UPGRADE_TIMEOUT_MINUTES = "UPGRADE_TIMEOUT_MINUTES"
# Promotion gates.
APPROVAL_ENVIRONMENTS = "APPROVAL_ENVIRONMENTS"
APPROVAL_TIMEOUT_HOURS = "APPROVAL_TIMEOUT_HOURS"
HEALTH_CHECK = "HEALTH_CHECK"
HEALTH_SETTLE_MINUTES = "HEALTH_SETTLE_MINUTES"
#: Set by the Functions host: the app's own host name (for the approval link in messages).
WEBSITE_HOSTNAME = "WEBSITE_HOSTNAME"
# The original deployment's client-secret settings, kept under their original names.
TENANT_ID = "tenant_id"
CLIENT_ID = "function_client_id"
CLIENT_SECRET = "function_client_secret"
# -- the production credential (added with telemetry, 2026-12) --------------------------------
# AZURE_CREDENTIAL_KIND=managed-identity uses exactly the managed identity whose client id is
# AZURE_CLIENT_ID (terraform sets both), instead of walking the developer credential chain.
AZURE_CLIENT_ID = "AZURE_CLIENT_ID"

CREDENTIAL_KINDS = ("default", "managed-identity", "client-secret", "emulator")
HEALTH_CHECKS = ("arm", "arm+alerts")
DEFAULT_SCHEDULE = "0 0 10 * * 1-4"
DEFAULT_ARM_ENDPOINT = "https://management.azure.com"
AZURITE_CONNECTION = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"
)
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_TABLE = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,62}$")
_TAG = re.compile(r"^[^<>%&\\?/]{1,512}$")
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off", "")


@dataclass(frozen=True)
class Settings:
    """Validated configuration of one process. Build it with :func:`load`."""

    rollout_plan: rollout.RolloutPlan
    upgrade_schedule: str
    run_time_of_day: time
    subscription_ids: tuple[str, ...]
    cluster_selector: str
    opt_out_tag: str
    target_policy: str
    min_soak_hours: float
    freeze_windows: tuple[freeze.FreezeWindow, ...]
    max_parallel_upgrades: int
    dry_run: bool
    arm_endpoint: str
    credential_kind: str
    version_table: str
    history_table: str
    poll_interval_seconds: int
    upgrade_timeout_minutes: int
    #: Environments whose run waits for a person's decision before its first PUT.
    approval_environments: tuple[str, ...] = ()
    approval_timeout_hours: int = 24
    #: "arm" (the cluster's own state after the upgrade) or "arm+alerts" (also no Sev0/Sev1 alert).
    health_check: str = "arm"
    health_settle_minutes: int = 10
    public_host: str | None = None
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    #: AZURE_CLIENT_ID: the user-assigned managed identity the ``managed-identity`` kind uses
    #: (None: the system-assigned identity).
    managed_identity_client_id: str | None = None
    version_store_connection: str | None = field(default=None, repr=False)
    version_store_endpoint: str | None = None
    slack_webhook_url: str | None = field(default=None, repr=False)
    #: Waves the timer never starts: UPGRADE_SCHEDULE fires in UTC in Azure, and no firing falls
    #: on the wave's weekday in the plan's time zone. A warning, not a bad setting.
    schedule_warnings: tuple[str, ...] = ()


def is_loopback_url(url: str) -> bool:
    """127.0.0.0/8, localhost or [::1]: the only places the static emulator token may go."""
    host = (urlparse(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _distinct_ignoring_case(values: Iterable[str]) -> tuple[str, ...]:
    """Each value once, in first-seen order; ARM ids ignore case, so "ABC" repeats "abc".

    A subscription listed twice would otherwise be searched twice, and every cluster in it
    planned, upgraded and reported twice.
    """
    seen: set[str] = set()
    kept: list[str] = []
    for value in values:
        if value.lower() not in seen:
            seen.add(value.lower())
            kept.append(value)
    return tuple(kept)


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every setting; raise one ConfigError listing all bad ones."""
    env = dict(os.environ if environ is None else environ)
    problems: dict[str, str] = {}

    def text(name: str, default: str = "") -> str:
        value = env.get(name)
        return default if value is None or not value.strip() else value.strip()

    def integer(name: str, default: int, low: int, high: int) -> int:
        raw = text(name, str(default))
        try:
            value = numbers.parse_whole_number(raw)
        except ValueError:
            problems[name] = f"must be a whole number {low}..{high} in plain ASCII digits, got {shown(raw)}"
            return default
        if not low <= value <= high:
            problems[name] = f"must be between {low} and {high}, got {value}"
        return value

    plan_text = text(ROLLOUT_PLAN, rollout.DEFAULT_PLAN_JSON)
    try:
        plan = rollout.parse_plan(plan_text)
    except ValueError as exc:
        problems[ROLLOUT_PLAN] = str(exc)
        plan = rollout.parse_plan(rollout.DEFAULT_PLAN_JSON)

    schedule_text = text(UPGRADE_SCHEDULE, DEFAULT_SCHEDULE)
    try:
        time_of_day = schedule.parse_time_of_day(schedule_text)
    except ValueError as exc:
        problems[UPGRADE_SCHEDULE] = str(exc)
        time_of_day = time(10, 0)

    subscriptions = _distinct_ignoring_case(s.strip() for s in text(SUBSCRIPTION_IDS).split(",") if s.strip())
    bad_subs = [s for s in subscriptions if not _GUID.match(s)]
    if bad_subs:
        problems[SUBSCRIPTION_IDS] = f"not subscription ids (GUIDs): {bad_subs}"

    selector = text(CLUSTER_SELECTOR, "tag")
    if selector not in SELECTORS:
        problems[CLUSTER_SELECTOR] = f"must be one of {list(SELECTORS)}, got {selector!r}"

    opt_out_tag = text(OPT_OUT_TAG, "aks-upgrade")
    if not _TAG.match(opt_out_tag):
        problems[OPT_OUT_TAG] = f"not a valid tag name: {opt_out_tag!r}"

    policy = text(TARGET_POLICY, "latest")
    if policy not in targets.POLICIES:
        problems[TARGET_POLICY] = f"must be one of {list(targets.POLICIES)}, got {policy!r}"

    soak_raw = text(MIN_SOAK_HOURS, "20")
    try:
        soak = numbers.parse_decimal(soak_raw)
        if not 0 <= soak <= 24 * 30:
            raise ValueError
    except ValueError:
        problems[MIN_SOAK_HOURS] = f"must be a number of hours 0..720 in plain ASCII digits (e.g. 20 or 36.5), got {shown(soak_raw)}"
        soak = 20.0

    try:
        windows = freeze.parse_freeze_dates(text(FREEZE_DATES))
    except ValueError as exc:
        problems[FREEZE_DATES] = str(exc)
        windows = ()

    max_parallel = integer(MAX_PARALLEL_UPGRADES, 5, 1, 100)
    poll_interval = integer(POLL_INTERVAL_SECONDS, 60, 1, 3600)
    timeout_minutes = integer(UPGRADE_TIMEOUT_MINUTES, 360, 1, 6 * 24 * 60)
    # A single durable timer in Python waits at most 6 days: the approval wait is one timer.
    approval_hours = integer(APPROVAL_TIMEOUT_HOURS, 24, 1, 6 * 24)
    settle_minutes = integer(HEALTH_SETTLE_MINUTES, 10, 0, 24 * 60)
    if settle_minutes >= timeout_minutes and HEALTH_SETTLE_MINUTES not in problems and UPGRADE_TIMEOUT_MINUTES not in problems:
        # Every upgrade would reach the deadline before its health check.
        problems[HEALTH_SETTLE_MINUTES] = (
            f"must be shorter than {UPGRADE_TIMEOUT_MINUTES} ({timeout_minutes}), or no upgrade is health checked in time, "
            f"got {settle_minutes}"
        )
    health = text(HEALTH_CHECK, "arm")
    if health not in HEALTH_CHECKS:
        problems[HEALTH_CHECK] = f"must be one of {list(HEALTH_CHECKS)}, got {shown(health)}"
    approvals = _distinct_ignoring_case(s.strip() for s in text(APPROVAL_ENVIRONMENTS).split(",") if s.strip())
    unknown = [e for e in approvals if plan.wave_of(e) is None]
    if unknown and ROLLOUT_PLAN not in problems:
        problems[APPROVAL_ENVIRONMENTS] = f"unknown environments {[shown(e) for e in unknown]}; ROLLOUT_PLAN has {list(plan.environments)}"

    dry_raw = text(DRY_RUN, "false").lower()
    if dry_raw not in _TRUE + _FALSE:
        problems[DRY_RUN] = f"must be true or false, got {env.get(DRY_RUN)!r}"
    dry_run = dry_raw in _TRUE

    arm_endpoint = text(ARM_ENDPOINT, DEFAULT_ARM_ENDPOINT).rstrip("/")
    parsed = urlparse(arm_endpoint)
    if parsed.scheme != "https" or not parsed.hostname:
        problems[ARM_ENDPOINT] = f"must be an https:// URL, got {arm_endpoint!r}"

    kind = text(AZURE_CREDENTIAL_KIND, "default")
    tenant = text(TENANT_ID) or None
    client_id = text(CLIENT_ID) or None
    client_secret = text(CLIENT_SECRET) or None
    if kind not in CREDENTIAL_KINDS:
        problems[AZURE_CREDENTIAL_KIND] = f"must be one of {list(CREDENTIAL_KINDS)}, got {kind!r}"
    elif kind == "emulator" and not is_loopback_url(arm_endpoint):
        problems[AZURE_CREDENTIAL_KIND] = (
            f"'emulator' sends a static token and is refused unless {ARM_ENDPOINT} is a loopback address "
            f"(127.0.0.0/8, localhost, [::1]); {ARM_ENDPOINT} is {arm_endpoint!r}"
        )
    elif kind == "client-secret":
        missing = [n for n, v in ((TENANT_ID, tenant), (CLIENT_ID, client_id), (CLIENT_SECRET, client_secret)) if not v]
        for name in missing:
            problems[name] = f"required when {AZURE_CREDENTIAL_KIND} is client-secret"
    identity_client_id = text(AZURE_CLIENT_ID) or None
    if kind == "managed-identity" and identity_client_id is not None and not _GUID.match(identity_client_id):
        problems[AZURE_CLIENT_ID] = f"must be the managed identity's client id (a GUID), got {shown(identity_client_id)}"

    store_endpoint = text(VERSION_STORE_ENDPOINT) or None
    store_connection = text(VERSION_STORE_CONNECTION) or text(AZURE_WEBJOBS_STORAGE) or None
    if store_connection is None and store_endpoint is None:
        store_connection = AZURITE_CONNECTION
    if store_endpoint is not None and urlparse(store_endpoint).scheme not in ("https", "http"):
        problems[VERSION_STORE_ENDPOINT] = "must be a table endpoint URL such as https://<account>.table.core.windows.net"
    if store_connection is not None and "=" not in store_connection:
        # Do not echo the value: a connection string holds the account key.
        problems[VERSION_STORE_CONNECTION] = "is not a storage connection string (key=value;...)"

    version_table = text(VERSION_TABLE, "AKSVersion")
    history_table = text(HISTORY_TABLE, "AKSUpgradeHistory")
    for name, value in ((VERSION_TABLE, version_table), (HISTORY_TABLE, history_table)):
        if not _TABLE.match(value):
            problems[name] = f"not a valid table name (3-63 letters and digits, starting with a letter): {value!r}"

    webhook = text(SLACK_WEBHOOK_URL) or None
    if webhook is not None and webhook.lower().startswith("@microsoft.keyvault("):
        problems[SLACK_WEBHOOK_URL] = (
            "is a Key Vault reference the Functions host could not resolve: check that the secret exists and that "
            "the app's identity holds Key Vault Secrets User on the vault (docs/deployment.md); value not shown"
        )
    elif webhook is not None and urlparse(webhook).scheme not in ("https", "http"):
        problems[SLACK_WEBHOOK_URL] = "must be an http(s) webhook URL (value not shown)"

    if problems:
        raise ConfigError(problems)
    unreached = schedule.unreached_waves(schedule_text, plan)
    return Settings(
        rollout_plan=plan,
        upgrade_schedule=schedule_text,
        run_time_of_day=time_of_day,
        subscription_ids=subscriptions,
        cluster_selector=selector,
        opt_out_tag=opt_out_tag,
        target_policy=policy,
        min_soak_hours=soak,
        freeze_windows=windows,
        max_parallel_upgrades=max_parallel,
        dry_run=dry_run,
        arm_endpoint=arm_endpoint,
        credential_kind=kind,
        version_table=version_table,
        history_table=history_table,
        poll_interval_seconds=poll_interval,
        upgrade_timeout_minutes=timeout_minutes,
        approval_environments=approvals,
        approval_timeout_hours=approval_hours,
        health_check=health,
        health_settle_minutes=settle_minutes,
        public_host=text(WEBSITE_HOSTNAME) or None,
        tenant_id=tenant,
        client_id=client_id,
        client_secret=client_secret,
        managed_identity_client_id=identity_client_id,
        version_store_connection=store_connection if store_endpoint is None else None,
        version_store_endpoint=store_endpoint,
        slack_webhook_url=webhook,
        schedule_warnings=tuple(u.describe(schedule_text, plan.timezone) for u in unreached),
    )

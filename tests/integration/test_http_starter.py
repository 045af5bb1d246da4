"""HttpStarter through the SDK's real DurableOrchestrationClient against LocalDurableHost.

The starter is the function the app registers (``function_app.app``), called the way the host
calls it: an ``azure.functions.HttpRequest`` plus the ``durableClient`` binding JSON. Instances are
created but not run (``run_on_start=False``), so nothing needs ARM or Table Storage; the tests
assert what the starter answered and what it created in the durable store (id and input).
See "HTTP starter" in ARCHITECTURE.md.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import azure.functions as func
import pytest

from ops.durable.http_api import LocalDurableHost
from ops.durable.registry import DurableRegistry
from shared import settings as settings_mod
from tests.integration.conftest import DEFAULT_PLAN

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
T = TypeVar("T")
DEV_ID = "aks-upgrade-dev-2026-12-01"  # 2026-12-01 is a Tuesday: dev's day


def post(registry: DurableRegistry, host: LocalDurableHost, body: Any = None) -> func.HttpResponse:
    """POST /api/upgrades; ``body`` bytes/str are sent as they are, anything else as JSON."""
    if body is None:
        data = b""
    elif isinstance(body, bytes):
        data = body
    elif isinstance(body, str):
        data = body.encode()
    else:
        data = json.dumps(body).encode()
    req = func.HttpRequest(
        "POST", f"{host.base_url}/api/upgrades", body=data, route_params={}, headers={"Content-Type": "application/json"}
    )
    return registry.starters["HttpStarter"].call(host.client_json, req=req)


def get(registry: DurableRegistry, host: LocalDurableHost, environment: str, day: str) -> func.HttpResponse:
    req = func.HttpRequest(
        "GET", f"{host.base_url}/api/upgrades/{environment}/{day}", body=b"", route_params={"environment": environment, "date": day}
    )
    return registry.starters["HttpStarter"].call(host.client_json, req=req)


def body_of(response: func.HttpResponse) -> Any:
    return json.loads(response.get_body())


def http_get_json(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw else None


def starts(host: LocalDurableHost) -> list[Any]:
    """The start requests the client sent to the durable host."""
    return [r for r in host.requests if r.method == "POST" and "/orchestrators/" in r.path]


def input_of(host: LocalDurableHost, instance_id: str) -> Any:
    record = host.get(instance_id)
    assert record is not None, f"instance {instance_id} was not created"
    return record.input


# -- 202: started ---------------------------------------------------------------------------


def test_post_environment_and_date_starts_the_fixed_instance(registry: DurableRegistry, host: LocalDurableHost) -> None:
    response = post(registry, host, {"environment": "dev", "date": "2026-12-01"})

    assert response.status_code == 202
    payload = body_of(response)
    assert payload["id"] == DEV_ID
    assert payload["statusQueryGetUri"] == host.status_url(DEV_ID)
    assert response.headers["Location"] == host.status_url(DEV_ID)
    record = host.get(DEV_ID)
    assert record is not None and record.name == "UpgradeOrchestrator"
    assert record.runtime_status == "Pending"
    assert record.input == {"environment": "dev", "date": "2026-12-01", "dryRun": False, "force": False}
    [start] = starts(host)
    assert start.path == f"/durabletask/orchestrators/UpgradeOrchestrator/{DEV_ID}"
    # The Location answers with the new instance's status (through the public webhook route).
    code, status = http_get_json(response.headers["Location"])
    assert (code, status["instanceId"], status["runtimeStatus"]) == (202, DEV_ID, "Pending")


def test_explicit_environment_runs_on_any_day_and_flags_pass_through(registry: DurableRegistry, host: LocalDurableHost) -> None:
    # 2026-12-05 is a Saturday: no wave, but an explicit environment runs anyway.
    response = post(registry, host, {"environment": "prod", "date": "2026-12-05", "dryRun": True, "force": False})

    assert response.status_code == 202
    assert input_of(host, "aks-upgrade-prod-2026-12-05") == {"environment": "prod", "date": "2026-12-05", "dryRun": True, "force": False}


def test_date_without_environment_takes_that_days_wave(registry: DurableRegistry, host: LocalDurableHost) -> None:
    response = post(registry, host, {"date": "2026-12-02"})  # a Wednesday: test

    assert response.status_code == 202
    assert body_of(response)["id"] == "aks-upgrade-test-2026-12-02"
    assert input_of(host, "aks-upgrade-test-2026-12-02")["date"] == "2026-12-02"


# -- no body: today in the plan's time zone --------------------------------------------------


def zone_whose_date_is_not_utcs() -> str:
    """A zone whose calendar date differs from UTC's right now (UTC+14 or UTC-11), so a
    starter that takes "today" from the machine's UTC clock picks the wrong day."""
    utc_today = datetime.now(UTC).date()
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):
        if datetime.now(ZoneInfo(zone)).date() != utc_today:
            return zone
    raise AssertionError("one of UTC+14 and UTC-11 always has another date than UTC")


def days_around(zone: str, action: Callable[[], T]) -> tuple[T, set[date]]:
    """``action``'s result and the date(s) in ``zone`` it can have taken as today: the date before
    and the date after it, which differ only when it ran across midnight."""
    before = datetime.now(ZoneInfo(zone)).date()
    result = action()
    return result, {before, datetime.now(ZoneInfo(zone)).date()}


def every_day_plan(timezone: str) -> dict[str, Any]:
    return {"timezone": timezone, "waves": [{"day": d, "environment": f"env-{d.lower()}"} for d in WEEKDAY_NAMES]}


@pytest.mark.parametrize("body", [None, b"", b"  \n", {}], ids=["none", "empty", "blank", "{}"])
def test_no_body_starts_todays_wave_in_the_plans_time_zone(
    registry: DurableRegistry, host: LocalDurableHost, settings_env: pytest.MonkeyPatch, body: Any
) -> None:
    zone = zone_whose_date_is_not_utcs()
    settings_env.setenv(settings_mod.ROLLOUT_PLAN, json.dumps(every_day_plan(zone)))

    response, days = days_around(zone, lambda: post(registry, host, body))

    assert response.status_code == 202, response.get_body()
    started = {f"aks-upgrade-env-{WEEKDAY_NAMES[d.weekday()].lower()}-{d.isoformat()}": d for d in days}
    today = started.get(body_of(response)["id"])
    assert today is not None, (body_of(response)["id"], days)
    environment = f"env-{WEEKDAY_NAMES[today.weekday()].lower()}"
    instance_id = f"aks-upgrade-{environment}-{today.isoformat()}"
    assert input_of(host, instance_id) == {"environment": environment, "date": today.isoformat(), "dryRun": False, "force": False}
    assert [r.path.rsplit("/", 1)[-1] for r in starts(host)] == [instance_id]


def test_no_body_on_a_day_without_a_wave_is_nothing_to_do(
    registry: DurableRegistry, host: LocalDurableHost, settings_env: pytest.MonkeyPatch
) -> None:
    zone = zone_whose_date_is_not_utcs()
    today = datetime.now(ZoneInfo(zone)).date()
    other_day = WEEKDAY_NAMES[(today.weekday() + 2) % 7]  # neither today nor, past midnight, tomorrow
    settings_env.setenv(settings_mod.ROLLOUT_PLAN, json.dumps({"timezone": zone, "waves": [{"day": other_day, "environment": "only"}]}))

    response, days = days_around(zone, lambda: post(registry, host, {}))

    assert response.status_code == 200
    payload = body_of(response)
    assert payload["status"] == "nothing-to-do"
    assert isinstance(payload["reason"], str) and any(d.isoformat() in payload["reason"] for d in days | {today})
    assert starts(host) == [] and host.instances == {}


def test_date_without_a_wave_is_nothing_to_do(registry: DurableRegistry, host: LocalDurableHost) -> None:
    response = post(registry, host, {"date": "2026-12-06"})  # Sunday

    assert response.status_code == 200
    assert body_of(response)["status"] == "nothing-to-do"
    assert host.instances == {} and starts(host) == []


# -- 409 / restart rules ---------------------------------------------------------------------


@pytest.mark.parametrize("runtime_status", ["Pending", "Running", "Suspended"])
@pytest.mark.parametrize("force", [False, True])
def test_active_instance_answers_409_whatever_force_says(
    registry: DurableRegistry, host: LocalDurableHost, runtime_status: str, force: bool
) -> None:
    seeded = host.seed(DEV_ID, runtime_status, input={"environment": "dev", "date": "2026-12-01", "dryRun": False, "force": False})

    response = post(registry, host, {"environment": "dev", "date": "2026-12-01", "force": force})

    assert response.status_code == 409
    payload = body_of(response)
    assert payload["statusQueryGetUri"] == host.status_url(DEV_ID)
    assert payload["instanceId"] == DEV_ID and payload["runtimeStatus"] == runtime_status
    assert starts(host) == []
    assert host.get(DEV_ID) is seeded and seeded.runtime_status == runtime_status
    code, status = http_get_json(payload["statusQueryGetUri"])
    assert (code, status["runtimeStatus"]) == (202, runtime_status)


def test_completed_instance_answers_409_without_force(registry: DurableRegistry, host: LocalDurableHost) -> None:
    seeded = host.seed(DEV_ID, "Completed", output={"status": "succeeded"})

    response = post(registry, host, {"environment": "dev", "date": "2026-12-01"})

    assert response.status_code == 409
    payload = body_of(response)
    assert payload["statusQueryGetUri"] == host.status_url(DEV_ID)
    assert "force" in payload["error"]
    assert starts(host) == [] and host.get(DEV_ID) is seeded


def test_completed_instance_starts_again_with_force_under_the_same_id(registry: DurableRegistry, host: LocalDurableHost) -> None:
    host.seed(DEV_ID, "Completed", output={"status": "succeeded"})

    response = post(registry, host, {"environment": "dev", "date": "2026-12-01", "force": True})

    assert response.status_code == 202
    assert body_of(response)["id"] == DEV_ID
    record = host.get(DEV_ID)
    assert record is not None and record.runtime_status == "Pending" and record.output is None
    assert record.input == {"environment": "dev", "date": "2026-12-01", "dryRun": False, "force": True}
    assert [r.path for r in starts(host)] == [f"/durabletask/orchestrators/UpgradeOrchestrator/{DEV_ID}"]


@pytest.mark.parametrize("runtime_status", ["Failed", "Terminated"])
def test_failed_or_terminated_instance_starts_again_without_force(
    registry: DurableRegistry, host: LocalDurableHost, runtime_status: str
) -> None:
    host.seed(DEV_ID, runtime_status, output="boom")

    response = post(registry, host, {"environment": "dev", "date": "2026-12-01"})

    assert response.status_code == 202
    record = host.get(DEV_ID)
    assert record is not None and record.runtime_status == "Pending"
    assert record.input == {"environment": "dev", "date": "2026-12-01", "dryRun": False, "force": False}


def test_an_instance_of_another_date_does_not_block(registry: DurableRegistry, host: LocalDurableHost) -> None:
    host.seed("aks-upgrade-dev-2026-11-24", "Running")

    assert post(registry, host, {"environment": "dev", "date": "2026-12-01"}).status_code == 202


# -- 400: bad bodies -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"environment": "staging", "date": "2026-12-01"}, "environment"),
        ({"environment": 7}, "environment"),
        ({"environment": "dev", "date": "2026-13-01"}, "date"),
        ({"environment": "dev", "date": "2026-02-30"}, "date"),
        ({"environment": "dev", "date": "20261201"}, "date"),
        ({"environment": "dev", "date": "2026-W49-2"}, "date"),  # an ISO week date: 10 chars
        ({"environment": "dev", "date": "2026W492  "}, "date"),
        ({"environment": "dev", "date": "2026-12-01\n"}, "date"),
        ({"environment": "dev", "date": 20261201}, "date"),
        ({"environment": "dev", "date": None}, "date"),
        ({"environment": "dev", "date": "2026-12-01", "dryRun": "yes"}, "dryRun"),
        ({"environment": "dev", "date": "2026-12-01", "dryRun": None}, "dryRun"),
        ({"environment": "dev", "date": "2026-12-01", "force": 1}, "force"),
        ({"environment": "dev", "date": "2026-12-01", "foo": True}, "foo"),
        ({"foo": 1}, "foo"),
        ([1, 2], "body"),
        ("dev", "body"),
        (b"null", "body"),
        (b'{"environment": "dev",', "body"),
        (b"not json at all", "body"),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 12 else None,
)
def test_bad_body_answers_400_naming_the_field(registry: DurableRegistry, host: LocalDurableHost, body: Any, field: str) -> None:
    response = post(registry, host, body)

    assert response.status_code == 400
    payload = body_of(response)
    assert set(payload) == {"error", "field"}
    assert payload["field"] == field
    assert isinstance(payload["error"], str) and payload["error"]
    assert host.requests == [] and host.instances == {}


# -- GET /api/upgrades/{environment}/{date} --------------------------------------------------

STATUS_KEYS = {"instanceId", "runtimeStatus", "customStatus", "output", "createdTime", "lastUpdatedTime", "statusQueryGetUri"}


def test_get_reports_a_completed_run(registry: DurableRegistry, host: LocalDurableHost) -> None:
    created = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    output = {"instanceId": DEV_ID, "status": "succeeded", "environment": "dev", "targetVersion": "1.30.2"}
    host.seed(DEV_ID, "Completed", output=output, custom_status={"phase": "done"}, created=created)

    response = get(registry, host, "dev", "2026-12-01")

    assert response.status_code == 200
    payload = body_of(response)
    assert set(payload) == STATUS_KEYS
    assert payload["instanceId"] == DEV_ID
    assert payload["runtimeStatus"] == "Completed"
    assert payload["output"] == output
    assert payload["customStatus"] == {"phase": "done"}
    assert datetime.fromisoformat(payload["createdTime"].replace("Z", "+00:00")) == created
    assert datetime.fromisoformat(payload["lastUpdatedTime"].replace("Z", "+00:00")) == created
    assert payload["statusQueryGetUri"] == host.status_url(DEV_ID)
    assert starts(host) == []


def test_get_reports_a_running_run(registry: DurableRegistry, host: LocalDurableHost) -> None:
    host.seed(DEV_ID, "Running", custom_status={"phase": "upgrading", "clusters": 3})

    response = get(registry, host, "dev", "2026-12-01")

    assert response.status_code == 200
    payload = body_of(response)
    assert set(payload) == STATUS_KEYS
    assert payload["runtimeStatus"] == "Running"
    assert payload["customStatus"] == {"phase": "upgrading", "clusters": 3}
    assert payload["output"] is None


def test_get_after_post_reports_the_started_instance(registry: DurableRegistry, host: LocalDurableHost) -> None:
    assert post(registry, host, {"environment": "dev", "date": "2026-12-01"}).status_code == 202

    payload = body_of(get(registry, host, "dev", "2026-12-01"))

    assert (payload["instanceId"], payload["runtimeStatus"]) == (DEV_ID, "Pending")


def test_get_without_a_run_is_404(registry: DurableRegistry, host: LocalDurableHost) -> None:
    host.seed("aks-upgrade-dev-2026-11-24", "Completed")  # another date

    response = get(registry, host, "dev", "2026-12-01")

    assert response.status_code == 404
    assert "error" in body_of(response)


@pytest.mark.parametrize(
    ("environment", "day", "field"),
    [
        ("staging", "2026-12-01", "environment"),
        ("dev", "2026-13-01", "date"),
        ("dev", "tomorrow", "date"),
        ("dev", "2026-12-1", "date"),
        ("dev", "2026-W49-2", "date"),
    ],
)
def test_get_with_bad_environment_or_date_is_400(
    registry: DurableRegistry, host: LocalDurableHost, environment: str, day: str, field: str
) -> None:
    response = get(registry, host, environment, day)

    assert response.status_code == 400
    payload = body_of(response)
    assert set(payload) == {"error", "field"} and payload["field"] == field
    assert host.requests == []


# -- broken settings -------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_broken_settings_refuse_naming_the_setting_and_start_nothing(
    registry: DurableRegistry, host: LocalDurableHost, settings_env: pytest.MonkeyPatch, method: str
) -> None:
    settings_env.setenv(settings_mod.TARGET_POLICY, "bogus")
    settings_env.setenv(settings_mod.MAX_PARALLEL_UPGRADES, "zero")

    if method == "POST":
        response = post(registry, host, {"environment": "dev", "date": "2026-12-01"})
    else:
        response = get(registry, host, "dev", "2026-12-01")

    assert not 200 <= response.status_code < 300
    text = response.get_body().decode()
    assert "TARGET_POLICY" in text and "MAX_PARALLEL_UPGRADES" in text
    assert host.requests == [] and host.instances == {}


def test_broken_settings_do_not_echo_secrets(registry: DurableRegistry, host: LocalDurableHost, settings_env: pytest.MonkeyPatch) -> None:
    secret_hook = "ftp://hooks.example.invalid/services/T/B/very-secret-token"
    settings_env.setenv(settings_mod.SLACK_WEBHOOK_URL, secret_hook)

    response = post(registry, host, {"environment": "dev", "date": "2026-12-01"})

    assert not 200 <= response.status_code < 300
    text = response.get_body().decode()
    assert "SLACK_WEBHOOK_URL" in text and "very-secret-token" not in text
    assert host.instances == {}


def test_environment_without_date_runs_today_in_the_plans_time_zone(
    registry: DurableRegistry, host: LocalDurableHost, settings_env: pytest.MonkeyPatch
) -> None:
    zone = zone_whose_date_is_not_utcs()
    settings_env.setenv(settings_mod.ROLLOUT_PLAN, json.dumps({**DEFAULT_PLAN, "timezone": zone}))

    response, days = days_around(zone, lambda: post(registry, host, {"environment": "dev"}))

    assert response.status_code == 202
    assert body_of(response)["id"] in {f"aks-upgrade-dev-{d.isoformat()}" for d in days}
    today = body_of(response)["id"].removeprefix("aks-upgrade-dev-")
    assert input_of(host, f"aks-upgrade-dev-{today}") == {"environment": "dev", "date": today, "dryRun": False, "force": False}

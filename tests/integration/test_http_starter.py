"""HttpStarter through the SDK's real DurableOrchestrationClient against LocalDurableHost.

The starter is the function the app registers (``function_app.app``), called the way the host
calls it: an ``azure.functions.HttpRequest`` plus the ``durableClient`` binding JSON. Instances are
created but not run (``run_on_start=False``), so nothing needs ARM or Table Storage; the tests
assert what the starter answered and what it created in the durable store (id and input).
See docs/architecture.md, "HTTP API".
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import azure.functions as func
import pytest

from ops.durable.http_api import LocalDurableHost
from ops.durable.registry import DurableRegistry
from shared import settings as settings_mod
from tests.integration.conftest import DEFAULT_PLAN

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Fixed dates sent to the starter lie in the past (a date after today is refused); tests of
# "today" and "tomorrow" compute them in the plan's time zone.
T = TypeVar("T")
DEV_ID = "aks-upgrade-dev-2026-12-01"  # 2026-12-01 is a Tuesday: dev's day
DEV_DRY_RUN_ID = "aks-upgrade-dev-2026-12-01-dry-run"
DEV_INPUT = {"environment": "dev", "date": "2026-12-01", "dryRun": False, "force": False}
DEV_DRY_RUN_INPUT = {**DEV_INPUT, "dryRun": True}


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
    # 2026-11-28 is a Saturday: no wave, but an explicit environment runs anyway.
    response = post(registry, host, {"environment": "prod", "date": "2026-11-28", "dryRun": False, "force": True})

    assert response.status_code == 202
    assert input_of(host, "aks-upgrade-prod-2026-11-28") == {"environment": "prod", "date": "2026-11-28", "dryRun": False, "force": True}


def test_date_without_environment_takes_that_days_wave(registry: DurableRegistry, host: LocalDurableHost) -> None:
    response = post(registry, host, {"date": "2026-11-25"})  # a Wednesday: test

    assert response.status_code == 202
    assert body_of(response)["id"] == "aks-upgrade-test-2026-11-25"
    assert input_of(host, "aks-upgrade-test-2026-11-25")["date"] == "2026-11-25"


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
    response = post(registry, host, {"date": "2026-11-29"})  # Sunday

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


# -- hostile bodies: size, nesting, numbers, echoes, future dates --------------------------------
MAX_BODY = 64 * 1024


def assert_refused(response: func.HttpResponse, host: LocalDurableHost, status: int, field: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_body()[:300]
    payload = body_of(response)
    assert set(payload) == {"error", "field"} and payload["field"] == field
    assert host.requests == [] and host.instances == {}
    return dict(payload)


def test_a_body_of_exactly_64_kib_is_read(registry: DurableRegistry, host: LocalDurableHost) -> None:
    body = json.dumps({"environment": "dev", "date": "2026-12-01"}).encode()
    body += b" " * (MAX_BODY - len(body))

    assert post(registry, host, body).status_code == 202


@pytest.mark.parametrize("size", [MAX_BODY + 1, 20 * 1024 * 1024])
def test_a_body_over_64_kib_answers_413_naming_the_body_without_echoing_it(
    registry: DurableRegistry, host: LocalDurableHost, size: int
) -> None:
    # A well-formed start request with a huge environment name.
    prefix, suffix = b'{"date": "2026-12-01", "environment": "', b'"}'
    body = prefix + b"x" * (size - len(prefix) - len(suffix)) + suffix

    response = post(registry, host, body)

    assert_refused(response, host, 413, "body")
    assert len(response.get_body()) < 500


def test_deeply_nested_brackets_are_refused_naming_the_body_never_a_500(registry: DurableRegistry, host: LocalDurableHost) -> None:
    assert_refused(post(registry, host, b"[" * 100_000), host, 413, "body")  # over 64 KiB
    # Under the size limit, still far deeper than Python's json can recurse:
    assert_refused(post(registry, host, b"[" * 60_000 + b"]" * 5_000), host, 400, "body")
    assert_refused(post(registry, host, b'{"environment": ' + b"[" * 60_000), host, 400, "body")


def nested(depth: int) -> Any:
    """A JSON value of ``depth`` array levels."""
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_nesting_is_refused_beyond_32_levels_and_brackets_in_strings_do_not_count(
    registry: DurableRegistry, host: LocalDurableHost
) -> None:
    # The body object is level 1: 31 levels under "foo" make 32 in all, still read (then refused as an unknown field).
    assert_refused(post(registry, host, {"foo": nested(31)}), host, 400, "foo")
    assert_refused(post(registry, host, {"foo": nested(32)}), host, 400, "body")
    assert_refused(post(registry, host, {"environment": "[{" * 100, "date": "2026-12-01"}), host, 400, "environment")


@pytest.mark.parametrize(
    "body",
    [
        b'{"environment": "dev", "date": "2026-12-01", "force": ' + b"1" * 5000 + b"}",
        b'{"environment": "dev", "date": "2026-12-01", "force": -' + b"9" * 5000 + b"}",
        b'{"environment": "dev", "date": "2026-12-01", "force": NaN}',
        b'{"environment": "dev", "date": "2026-12-01", "dryRun": Infinity}',
        b'{"environment": "dev", "date": "2026-12-01", "dryRun": -Infinity}',
        b'{"environment": "dev", "date": "2026-12-01", "dryRun": 1e999}',
    ],
    ids=["5000-digit integer", "negative 5000-digit integer", "NaN", "Infinity", "-Infinity", "1e999"],
)
def test_numbers_that_do_not_parse_answer_400_naming_the_body(registry: DurableRegistry, host: LocalDurableHost, body: bytes) -> None:
    assert_refused(post(registry, host, body), host, 400, "body")


def test_a_long_environment_name_is_quoted_at_most_200_characters(registry: DurableRegistry, host: LocalDurableHost) -> None:
    name = "x" * 60_000

    payload = assert_refused(post(registry, host, {"environment": name, "date": "2026-12-01"}), host, 400, "environment")

    assert "x" * 201 not in payload["error"] and "x" * 100 in payload["error"] and "…" in payload["error"]


def test_a_long_unknown_key_is_named_and_quoted_at_most_200_characters(registry: DurableRegistry, host: LocalDurableHost) -> None:
    key = "k" * 60_000

    response = post(registry, host, {key: True})

    assert response.status_code == 400
    payload = body_of(response)
    assert payload["field"].startswith("k" * 160) and len(payload["field"]) <= 161
    assert payload["error"].count("k") + payload["field"].count("k") <= 200  # no more than 200 characters of input in all
    assert host.instances == {}


def test_a_20_mb_environment_in_the_get_route_is_not_echoed(registry: DurableRegistry, host: LocalDurableHost) -> None:
    response = get(registry, host, "e" * (20 * 1024 * 1024), "2026-12-01")

    assert response.status_code == 400
    assert len(response.get_body()) < 500 and body_of(response)["field"] == "environment"
    assert host.requests == []


def test_a_date_after_today_in_the_plans_time_zone_is_refused(
    registry: DurableRegistry, host: LocalDurableHost, settings_env: pytest.MonkeyPatch
) -> None:
    zone = zone_whose_date_is_not_utcs()
    settings_env.setenv(settings_mod.ROLLOUT_PLAN, json.dumps(every_day_plan(zone)))
    tomorrow = datetime.now(ZoneInfo(zone)).date() + timedelta(days=1)

    for body in ({"date": tomorrow.isoformat()}, {"environment": "env-mon", "date": tomorrow.isoformat(), "dryRun": True}):
        payload = assert_refused(post(registry, host, body), host, 400, "date")
        assert tomorrow.isoformat() in payload["error"]


def test_today_in_the_plans_time_zone_is_not_after_today(
    registry: DurableRegistry, host: LocalDurableHost, settings_env: pytest.MonkeyPatch
) -> None:
    zone = zone_whose_date_is_not_utcs()  # its today is UTC's tomorrow or yesterday
    settings_env.setenv(settings_mod.ROLLOUT_PLAN, json.dumps(every_day_plan(zone)))
    today = datetime.now(ZoneInfo(zone)).date()

    response = post(registry, host, {"environment": "env-mon", "date": today.isoformat()})

    assert response.status_code == 202, response.get_body()
    assert input_of(host, f"aks-upgrade-env-mon-{today.isoformat()}")["date"] == today.isoformat()


# -- the gate: freeze -----------------------------------------------------------------------


def test_a_frozen_date_answers_skipped_and_starts_nothing(
    registry: DurableRegistry, host: LocalDurableHost, settings_env: pytest.MonkeyPatch
) -> None:
    settings_env.setenv(settings_mod.FREEZE_DATES, "2026-11-28..2026-12-02")

    response = post(registry, host, {"environment": "dev", "date": "2026-12-01"})

    assert response.status_code == 200
    payload = body_of(response)
    assert set(payload) == {"status", "reason"}
    assert payload["status"] == "skipped"
    assert "2026-12-01 is frozen" in payload["reason"] and "2026-11-28..2026-12-02" in payload["reason"]
    assert starts(host) == [] and host.instances == {}


def test_force_never_replaces_a_completed_result_on_a_frozen_date(
    registry: DurableRegistry, host: LocalDurableHost, settings_env: pytest.MonkeyPatch
) -> None:
    seeded = host.seed(DEV_ID, "Completed", input=DEV_INPUT, output={"status": "succeeded", "recordedVersion": "1.31.2"})
    settings_env.setenv(settings_mod.FREEZE_DATES, "2026-12-01")

    response = post(registry, host, {"environment": "dev", "date": "2026-12-01", "force": True})

    assert response.status_code == 200
    assert body_of(response)["status"] == "skipped"
    assert starts(host) == []
    assert host.get(DEV_ID) is seeded
    assert (seeded.runtime_status, seeded.output) == ("Completed", {"status": "succeeded", "recordedVersion": "1.31.2"})


def test_a_rerun_of_an_unfrozen_date_on_a_frozen_today_is_skipped_naming_both_days(
    registry: DurableRegistry, host: LocalDurableHost, settings_env: pytest.MonkeyPatch
) -> None:
    # The freeze spans a day either side of today, so that a midnight between the test and the
    # starter reading the clock still falls inside it.
    today = datetime.now(ZoneInfo(str(DEFAULT_PLAN["timezone"]))).date()
    settings_env.setenv(settings_mod.FREEZE_DATES, f"{today - timedelta(days=1)}..{today + timedelta(days=1)}")
    old_date = (today - timedelta(days=14)).isoformat()

    response = post(registry, host, {"environment": "dev", "date": old_date, "force": True})

    assert response.status_code == 200
    payload = body_of(response)
    assert payload["status"] == "skipped"
    assert old_date in payload["reason"] and "frozen" in payload["reason"]
    assert any(str(today + timedelta(days=d)) in payload["reason"] for d in (0, 1))
    assert starts(host) == [] and host.instances == {}


# -- dry runs: their own instance id ----------------------------------------------------------


def test_a_dry_run_starts_under_its_own_instance_id(registry: DurableRegistry, host: LocalDurableHost) -> None:
    response = post(registry, host, {"environment": "dev", "date": "2026-12-01", "dryRun": True})

    assert response.status_code == 202
    assert body_of(response)["id"] == DEV_DRY_RUN_ID
    assert input_of(host, DEV_DRY_RUN_ID) == DEV_DRY_RUN_INPUT
    assert host.get(DEV_ID) is None


def test_a_completed_dry_run_does_not_block_the_real_run(registry: DurableRegistry, host: LocalDurableHost) -> None:
    host.seed(DEV_DRY_RUN_ID, "Completed", input=DEV_DRY_RUN_INPUT, output={"status": "planned"})

    response = post(registry, host, {"environment": "dev", "date": "2026-12-01"})

    assert response.status_code == 202
    assert body_of(response)["id"] == DEV_ID
    assert input_of(host, DEV_ID) == DEV_INPUT


def test_a_completed_dry_run_is_run_again_without_force(registry: DurableRegistry, host: LocalDurableHost) -> None:
    host.seed(DEV_DRY_RUN_ID, "Completed", input=DEV_DRY_RUN_INPUT, output={"status": "planned"})

    response = post(registry, host, {"environment": "dev", "date": "2026-12-01", "dryRun": True})

    assert response.status_code == 202
    record = host.get(DEV_DRY_RUN_ID)
    assert record is not None and record.runtime_status == "Pending" and record.output is None
    assert record.input == DEV_DRY_RUN_INPUT


def test_a_completed_real_run_does_not_block_a_dry_run(registry: DurableRegistry, host: LocalDurableHost) -> None:
    seeded = host.seed(DEV_ID, "Completed", input=DEV_INPUT, output={"status": "succeeded"})

    response = post(registry, host, {"environment": "dev", "date": "2026-12-01", "dryRun": True})

    assert response.status_code == 202
    assert body_of(response)["id"] == DEV_DRY_RUN_ID
    assert host.get(DEV_ID) is seeded and seeded.output == {"status": "succeeded"}


@pytest.mark.parametrize("runtime_status", ["Pending", "Running"])
def test_an_active_dry_run_answers_409(registry: DurableRegistry, host: LocalDurableHost, runtime_status: str) -> None:
    seeded = host.seed(DEV_DRY_RUN_ID, runtime_status, input=DEV_DRY_RUN_INPUT)

    response = post(registry, host, {"environment": "dev", "date": "2026-12-01", "dryRun": True})

    assert response.status_code == 409
    assert body_of(response)["instanceId"] == DEV_DRY_RUN_ID
    assert starts(host) == [] and host.get(DEV_DRY_RUN_ID) is seeded


def test_the_dry_run_setting_uses_the_dry_run_instance_id(
    registry: DurableRegistry, host: LocalDurableHost, settings_env: pytest.MonkeyPatch
) -> None:
    settings_env.setenv(settings_mod.DRY_RUN, "true")
    host.seed(DEV_ID, "Completed", input=DEV_INPUT, output={"status": "succeeded"})

    response = post(registry, host, {"environment": "dev", "date": "2026-12-01"})

    assert response.status_code == 202
    assert body_of(response)["id"] == DEV_DRY_RUN_ID
    assert input_of(host, DEV_DRY_RUN_ID) == DEV_DRY_RUN_INPUT


def test_get_reports_the_dry_run_when_asked_for_it(registry: DurableRegistry, host: LocalDurableHost) -> None:
    host.seed(DEV_ID, "Completed", output={"status": "succeeded"})
    host.seed(DEV_DRY_RUN_ID, "Completed", output={"status": "planned"})
    req = func.HttpRequest(
        "GET",
        f"{host.base_url}/api/upgrades/dev/2026-12-01?dryRun=true",
        body=b"",
        route_params={"environment": "dev", "date": "2026-12-01"},
        params={"dryRun": "true"},
    )

    payload = body_of(registry.starters["HttpStarter"].call(host.client_json, req=req))

    assert (payload["instanceId"], payload["output"]) == (DEV_DRY_RUN_ID, {"status": "planned"})
    assert body_of(get(registry, host, "dev", "2026-12-01"))["instanceId"] == DEV_ID

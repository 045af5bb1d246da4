"""The rollout plan: weekday map, roles, predecessors, and what a run on a date acts on."""

from __future__ import annotations

import json
from datetime import date

import pytest

from shared.domain import rollout

DEFAULT = rollout.parse_plan(rollout.DEFAULT_PLAN_JSON)
# 2026-03-02 is a Monday.
MON, TUE, WED, THU, FRI, SAT, SUN = (date(2026, 3, d) for d in range(2, 9))


def plan_json(waves: list[dict[str, object]], **extra: object) -> str:
    return json.dumps({"timezone": "Europe/Oslo", "waves": waves, **extra})


@pytest.mark.parametrize(
    ("name", "weekday"),
    [
        ("Mon", 0),
        ("mon", 0),
        ("MON", 0),
        ("Monday", 0),
        ("MONDAY", 0),
        ("tuesday", 1),
        ("Wed", 2),
        ("Thursday", 3),
        ("fri", 4),
        ("Saturday", 5),
        ("sUn", 6),
        (" Sun ", 6),
    ],
)
def test_weekday_names_are_short_or_full_english_in_any_case(name: str, weekday: int) -> None:
    assert rollout.parse_weekday(name) == weekday


@pytest.mark.parametrize("name", ["Mo", "Mond", "Montag", "lundi", "1", "", "Thurs"])
def test_unknown_weekday_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="unknown weekday"):
        rollout.parse_weekday(name)


def test_default_plan_is_sandbox_dev_test_prod_monday_to_thursday_in_oslo() -> None:
    assert DEFAULT.timezone == "Europe/Oslo"
    assert [(w.weekday, w.environment) for w in DEFAULT.waves] == [(0, "sandbox"), (1, "dev"), (2, "test"), (3, "prod")]
    assert DEFAULT.lead == "sandbox"


def test_a_plan_without_timezone_counts_weekdays_in_utc() -> None:
    plan = rollout.parse_plan(json.dumps({"waves": [{"day": "Fri", "environment": "lab"}]}))
    assert plan.timezone == "UTC"


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("not json", "not valid JSON"),
        ("[]", "must be a JSON object"),
        (json.dumps({"timezone": "Europe/Oslo"}), "waves must be a non-empty list"),
        (plan_json([]), "waves must be a non-empty list"),
        (plan_json([{"day": "Mon", "environment": "a"}], extra=1), "unknown keys ['extra']"),
        (json.dumps({"timezone": "Mars/Olympus", "waves": [{"day": "Mon", "environment": "a"}]}), "unknown timezone 'Mars/Olympus'"),
        (plan_json(["Mon"]), "waves[0] must be an object"),
        (plan_json([{"day": "Mon"}]), "waves[0].environment must be a non-empty string"),
        (plan_json([{"day": "Mon", "environment": " "}]), "waves[0].environment must be a non-empty string"),
        (plan_json([{"day": "Funday", "environment": "a"}]), "waves[0].day: unknown weekday 'Funday'"),
        (plan_json([{"environment": "a"}]), "waves[0].day: unknown weekday"),
        (plan_json([{"day": "Mon", "environment": "a", "when": 1}]), "waves[0] has unknown keys ['when']"),
        (
            plan_json([{"day": "Mon", "environment": "dev"}, {"day": "Tue", "environment": "dev"}]),
            "environment 'dev' appears more than once",
        ),
        (plan_json([{"day": "Mon", "environment": "dev"}, {"day": "Tue", "environment": "DEV"}]), "appears more than once"),
        (plan_json([{"day": "Mon", "environment": "a"}, {"day": "monday", "environment": "b"}]), "two waves on Mon"),
    ],
)
def test_bad_plans_are_refused_with_what_is_wrong(text: str, complaint: str) -> None:
    with pytest.raises(ValueError) as caught:
        rollout.parse_plan(text)
    assert complaint in str(caught.value)


def test_every_problem_of_a_plan_is_reported_at_once() -> None:
    text = plan_json(
        [{"day": "Funday", "environment": "sandbox"}, {"day": "Tue", "environment": "dev"}, {"day": "Wed", "environment": "dev"}]
    )
    with pytest.raises(ValueError) as caught:
        rollout.parse_plan(text)
    assert "unknown weekday 'Funday'" in str(caught.value)
    assert "environment 'dev' appears more than once" in str(caught.value)


@pytest.mark.parametrize(
    ("day", "environment", "role", "predecessor"),
    [
        (MON, "sandbox", "lead", None),
        (TUE, "dev", "follower", "sandbox"),
        (WED, "test", "follower", "dev"),
        (THU, "prod", "follower", "test"),
    ],
)
def test_each_weekday_runs_its_wave_with_its_role(day: date, environment: str, role: str, predecessor: str | None) -> None:
    assert rollout.choose_wave(DEFAULT, day, None) == rollout.ChosenWave(environment, role, predecessor)


@pytest.mark.parametrize("day", [FRI, SAT, SUN])
def test_a_day_without_a_wave_has_no_environment_and_role_none(day: date) -> None:
    assert rollout.choose_wave(DEFAULT, day, None) == rollout.ChosenWave(None, "none", None)


@pytest.mark.parametrize("day", [MON, TUE, WED, THU, FRI, SAT, SUN])
def test_a_named_environment_runs_its_own_wave_and_role_on_any_date(day: date) -> None:
    assert rollout.choose_wave(DEFAULT, day, "prod") == rollout.ChosenWave("prod", "follower", "test")
    assert rollout.choose_wave(DEFAULT, day, "sandbox") == rollout.ChosenWave("sandbox", "lead", None)


def test_an_unknown_named_environment_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown environment 'staging'"):
        rollout.choose_wave(DEFAULT, MON, "staging")


def test_each_wave_follows_the_one_listed_before_it_not_the_calendar() -> None:
    # GIVEN a plan whose order differs from the week's order
    plan = rollout.parse_plan(
        plan_json(
            [
                {"day": "Thu", "environment": "canary"},
                {"day": "Mon", "environment": "blue"},
                {"day": "Tue", "environment": "green"},
            ]
        )
    )
    # THEN the first listed is the lead and each later one follows its listed predecessor
    assert [plan.predecessor(e) for e in plan.environments] == [None, "canary", "blue"]
    assert rollout.choose_wave(plan, MON, None) == rollout.ChosenWave("blue", "follower", "canary")


def test_plan_survives_the_round_trip_through_plain_json() -> None:
    plan = rollout.parse_plan(plan_json([{"day": "monday", "environment": "sandbox"}, {"day": "TUE", "environment": "dev"}]))
    assert rollout.RolloutPlan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan


# -- environment names: they become Table Storage keys, instance ids and tag values ---------------
@pytest.mark.parametrize("name", ["a", "sandbox", "prod-eu_2", "A" * 63, "0dev", "-", "_x"])
def test_environment_names_of_ascii_letters_digits_dash_and_underscore_are_accepted(name: str) -> None:
    plan = rollout.parse_plan(plan_json([{"day": "Mon", "environment": name}]))
    assert plan.environments == (name,)


@pytest.mark.parametrize(
    "name",
    [
        "dev/eu",  # Table Storage refuses / in keys
        "dev#1",
        "dev?",
        "dev\\eu",
        "dev\tx",
        "dev\x00",
        "dev\x7f",
        "dev\n",
        " dev",
        "dev.eu",
        "dev eu",
        "prød",  # non-ASCII letters
        "dev١",  # Arabic-Indic digit one
        "ｄｅｖ",  # fullwidth letters
        "A" * 64,
        "x" * 2000,
    ],
    ids=lambda name: repr(name)[:24],
)
def test_environment_names_tables_cannot_key_are_refused_at_load_time(name: str) -> None:
    with pytest.raises(ValueError) as caught:
        rollout.parse_plan(plan_json([{"day": "Mon", "environment": name}]))
    message = str(caught.value)
    assert "waves[0].environment must be 1-63 characters of ASCII letters, digits, '-' and '_'" in message
    assert len(message) < 400  # a 2,000-character name is not echoed in full

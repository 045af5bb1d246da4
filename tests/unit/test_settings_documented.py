"""Every setting the app reads is documented where operators look: docs/architecture.md's settings
table and local.settings.json.example (with a safe local value)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from shared import settings
from shared.adapters import telemetry

REPO = Path(__file__).resolve().parents[2]


def setting_names() -> list[str]:
    """The names shared/settings.py reads (its module constants whose value is their own name, or
    the original deployment's lower-case names), plus the telemetry adapter's."""
    names = [value for name, value in vars(settings).items() if name.isupper() and isinstance(value, str) and value.upper() == name]
    names += [settings.TENANT_ID, settings.CLIENT_ID, settings.CLIENT_SECRET, settings.AZURE_WEBJOBS_STORAGE]
    names.append(telemetry.APPLICATIONINSIGHTS_CONNECTION_STRING)
    return sorted(set(names))


def test_the_list_of_settings_is_not_empty() -> None:
    assert {"ROLLOUT_PLAN", "AZURE_CLIENT_ID", "APPLICATIONINSIGHTS_CONNECTION_STRING", "tenant_id"} <= set(setting_names())


@pytest.mark.parametrize("name", setting_names())
def test_every_setting_is_in_the_local_settings_example(name: str) -> None:
    values = json.loads((REPO / "local.settings.json.example").read_text(encoding="utf-8"))["Values"]

    assert name in values


@pytest.mark.parametrize("name", [n for n in setting_names() if n != settings.AZURE_WEBJOBS_STORAGE])
def test_every_setting_has_a_row_in_the_architecture_settings_table(name: str) -> None:
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("## Settings", 1)[1].split("\n## ", 1)[0]

    assert re.search(rf"^\| `{re.escape(name)}`", section, re.MULTILINE) or f"`{name}`" in section.split("| setting |", 1)[1]

"""The command line for people: every flag explains itself, colour only where it can be seen, and
the demo's 4 KB JSON line only when asked for with --json."""

from __future__ import annotations

import argparse
import io
import json
import re
from datetime import date

import pytest

from ops import cli, demo, report
from ops import console as console_mod


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    [choices] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(choices.choices)


@pytest.mark.parametrize("command", sorted(subcommands()))
def test_every_flag_of_every_command_has_help_text(command: str) -> None:
    parser = subcommands()[command]
    flags = [a for a in parser._actions if a.option_strings and not isinstance(a, argparse._HelpAction)]

    assert flags, f"{command} has no flags to check"
    for flag in flags:
        assert flag.help and len(flag.help) > 10, f"{command} {'/'.join(flag.option_strings)} has no help text"


def test_every_command_has_help_text() -> None:
    parser = cli.build_parser()
    [choices] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert {action.dest for action in choices._choices_actions if action.help} == set(subcommands())


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


RESULT = {
    "instanceId": "aks-upgrade-prod-2026-12-03",
    "date": "2026-12-03",
    "environment": "prod",
    "role": "follower",
    "status": "failed",
    "reason": "1 of 1 cluster(s) failed: aks-prod-1; nothing recorded",
    "targetVersion": "1.31.2",
    "recordedVersion": None,
    "clusters": [
        {"id": "/s/x/aks-prod-1", "from": "1.30.5", "to": "1.31.2", "result": "failed", "reason": "UpgradeFailed: [url redacted] drain"}
    ],
}


def test_a_terminal_gets_colour() -> None:
    stream = Terminal()

    console_mod.console(stream, environ={"TERM": "xterm-256color"}).print(report.run_view(RESULT))

    assert colours(stream.getvalue()) and "status=failed" in console_strip(stream.getvalue())


def test_no_color_turns_colour_off_even_on_a_terminal() -> None:
    stream = Terminal()

    console_mod.console(stream, environ={"TERM": "xterm-256color", "NO_COLOR": "1"}).print(report.run_view(RESULT))

    assert colours(stream.getvalue()) == set()  # bold may stay: NO_COLOR is about colour
    assert "status=failed" in console_strip(stream.getvalue())


def test_a_pipe_gets_plain_wide_text_and_brackets_in_reasons_stay_text() -> None:
    stream = io.StringIO()

    console_mod.console(stream, environ={}).print(report.run_view(RESULT))

    text = stream.getvalue()
    assert "\x1b[" not in text
    assert "UpgradeFailed: [url redacted] drain" in text  # not read as rich markup
    assert "1 of 1 cluster(s) failed: aks-prod-1; nothing recorded" in text  # not wrapped at 80 columns


def test_progress_stays_off_a_stream_that_is_not_a_terminal() -> None:
    stream = io.StringIO()

    with console_mod.steps("working", 2, stream=stream) as progress:
        progress.advance()
        progress.advance()

    assert stream.getvalue() == ""


def console_strip(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def colours(text: str) -> set[str]:
    """The colour parameters (foreground 30-38 and 90-97, background 40-48) of the text's escape codes."""
    found = set()
    for params in re.findall(r"\x1b\[([0-9;]*)m", text):
        for param in params.split(";"):
            if param.isdigit() and (30 <= int(param) <= 48 or 90 <= int(param) <= 107):
                found.add(param)
    return found


WEEK = demo.Week(
    monday=date(2026, 11, 30),
    arm_endpoint="https://127.0.0.1:8443",
    plan="sandbox, dev, test, prod (Mon..Thu), policy latest, soak 20 h",
    days=((date(2026, 11, 30), {**RESULT, "date": "2026-11-30", "environment": "sandbox", "role": "lead", "status": "succeeded"}),),
    records={"sandbox": {"version": "1.31.2", "validatedAt": "2026-11-30T09:02:00+00:00", "instanceId": "i", "clusters": ["/s/x/aks-1"]}},
    requests=12,
    puts=2,
)


def test_the_demo_without_json_prints_no_json_line() -> None:
    stream = io.StringIO()

    demo.show_week(WEEK, as_json=False, stream=stream)

    lines = stream.getvalue().splitlines()
    assert any("sandbox (lead)" in line for line in lines) and any("1.31.2" in line for line in lines)
    assert not any(line.lstrip().startswith("{") for line in lines)


def test_the_demo_with_json_ends_with_the_summary_line() -> None:
    stream = io.StringIO()

    demo.show_week(WEEK, as_json=True, stream=stream)

    last = stream.getvalue().strip().splitlines()[-1]
    assert json.loads(last) == {"week": [WEEK.days[0][1]], "records": WEEK.records}

"""How the command line writes for people: rich tables, colour and progress on a terminal, plain
text everywhere else.

- Colour only on a terminal, and never under ``NO_COLOR`` (rich honours the variable itself): a
  log file or a pipe into ``grep`` gets the same words without escape codes.
- Off a terminal the width is generous (``COLUMNS`` if set, else 200): rich would otherwise wrap at
  80 columns, and a wrapped reason is harder to grep than a long line.
- Progress (a spinner or a bar) goes to stderr and only when stderr is a terminal, so it never
  mixes with the output a harness reads, and the ``--json`` last line stays the last line.

Nothing here is deployed (ops/ is tooling), so the app itself never depends on rich.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import IO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.text import Text

#: Colours for the words the conductor reports: run statuses, cluster results and actions, gate
#: answers. Any other word (a status added later) prints in the default colour.
STYLES: Mapping[str, str] = {
    "succeeded": "green",
    "upgraded": "green",
    "act": "green",
    "ready": "green",
    "upgrade": "blue",
    "planned": "blue",
    "already-current": "cyan",
    "skipped": "yellow",
    "nothing-to-do": "bright_black",
    "stopped": "magenta",
    "failed": "bold red",
}

#: Width off a terminal, unless COLUMNS says otherwise.
PLAIN_WIDTH = 200


def _width(stream: IO[str], environ: Mapping[str, str]) -> int | None:
    if stream.isatty():
        return None  # rich asks the terminal
    columns = environ.get("COLUMNS", "")
    return int(columns) if columns.isascii() and columns.isdigit() and int(columns) > 0 else PLAIN_WIDTH


def console(stream: IO[str] | None = None, environ: Mapping[str, str] | None = None) -> Console:
    """A console on ``stream`` (stdout by default) that colours only a terminal and never under NO_COLOR."""
    stream = stream if stream is not None else sys.stdout
    env = os.environ if environ is None else environ
    return Console(
        file=stream,
        width=_width(stream, env),
        no_color=env.get("NO_COLOR", "") != "",
        highlight=False,
        emoji=False,
        markup=False,
        soft_wrap=True,
    )


def styled(word: str | None) -> Text:
    """``word`` in its colour (see :data:`STYLES`); "-" for nothing."""
    if word is None:
        return Text("-")
    return Text(word, style=STYLES.get(word, ""))


class Steps:
    """Progress of work in known steps; on a non-terminal every call does nothing."""

    def __init__(self, progress: Progress | None, task: TaskID | None) -> None:
        self._progress = progress
        self._task = task

    def advance(self, description: str | None = None) -> None:
        if self._progress is not None and self._task is not None:
            if description is not None:
                self._progress.update(self._task, description=description)
            self._progress.advance(self._task)

    def describe(self, description: str) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=description)


@contextmanager
def steps(description: str, total: int | None, stream: IO[str] | None = None) -> Iterator[Steps]:
    """A progress bar (or, without ``total``, a spinner) on stderr while the block runs; transient,
    and only on a terminal."""
    err = console(stream if stream is not None else sys.stderr)
    if not err.is_terminal:
        yield Steps(None, None)
        return
    columns = [SpinnerColumn(), TextColumn("{task.description}")]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn()]
    with Progress(*columns, TimeElapsedColumn(), console=err, transient=True) as progress:
        yield Steps(progress, progress.add_task(description, total=total))

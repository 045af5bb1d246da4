"""Helpers the activity modules share: concurrent reads and the cluster selection from the settings."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from shared import runtime
from shared.domain import clusters as clusters_mod

T = TypeVar("T")
R = TypeVar("R")
_IO_THREADS = 16


def parallel(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """ARM reads are independent per subscription/cluster: do them concurrently, keep the order.

    Each call runs in a copy of the caller's context (one copy per call: a context cannot be
    entered by two threads at once), so the run bound by ``logs.bound`` and the current span
    reach the log lines and spans of the worker threads too.
    """
    items = list(items)
    if len(items) <= 1:
        return [fn(i) for i in items]
    calls = [(contextvars.copy_context(), item) for item in items]
    with ThreadPoolExecutor(max_workers=min(_IO_THREADS, len(items))) as pool:
        return list(pool.map(lambda call: call[0].run(fn, call[1]), calls))


def cluster_selection(environment: str) -> clusters_mod.Selection:
    settings = runtime.services().settings
    return clusters_mod.Selection(environment, settings.cluster_selector, settings.opt_out_tag)

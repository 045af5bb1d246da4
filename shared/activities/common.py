"""Helpers the activity modules share: concurrent reads and the cluster selection from the settings."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from shared import runtime
from shared.domain import clusters as clusters_mod

T = TypeVar("T")
R = TypeVar("R")
_IO_THREADS = 16


def parallel(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """ARM reads are independent per subscription/cluster: do them concurrently, keep the order."""
    items = list(items)
    if len(items) <= 1:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=min(_IO_THREADS, len(items))) as pool:
        return list(pool.map(fn, items))


def cluster_selection(environment: str) -> clusters_mod.Selection:
    settings = runtime.services().settings
    return clusters_mod.Selection(environment, settings.cluster_selector, settings.opt_out_tag)

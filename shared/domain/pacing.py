"""How fast one run's upgrade loop may ask ARM, so that a large environment never meets a 429.

Resource Manager and the AKS resource provider throttle with token buckets: a bucket holds at most
``burst`` requests and refills at ``per_second``. The figures the loop spends from, per
subscription (and, for Resource Manager, per principal: this app's identity):

- Resource Manager reads: 250, refilling 25 per second;
- Resource Manager writes: 200, refilling 10 per second;
- AKS operation-status reads: 200, refilling 2 per second.

(AKS's per-cluster buckets, 20 PUTs refilling one a minute and 60 GETs refilling one a second,
are never reached: a start sends at most three GET-and-PUT pairs for its cluster, and a cluster is
looked at once a round.)

The loop asks in rounds one poll interval apart. Each round looks at running upgrades (one read
each) and starts upgrades (a GET and a PUT each), all at the same moment; then the buckets refill
for one poll interval. Spending at most ``min(burst, per_second × interval)`` of a bucket per round
can therefore go on forever: each round fits the bucket, and the bucket is back where it was by
the next one. Half of the reads go to looking, half to starting. Looking means looks at running
upgrades (also capped by the operation-status bucket) and then health checks (a cluster GET, and
an alert list with ``arm+alerts``), which take what the looks leave; one check per subscription
goes each round whatever, so that checks never starve. With the default 60 s interval that is 120
looks and 125 starts per subscription and round, above MAX_PARALLEL_UPGRADES' own limit of 100, so
only short poll intervals are ever paced (at 1 s: 2 looks, 10 checks' reads and 10 starts).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Budget:
    """One token bucket's figures."""

    burst: int
    per_second: float

    def per_round(self, interval: timedelta) -> int:
        """What one round may spend every ``interval`` without the bucket ever running dry (at least 1)."""
        return max(1, min(self.burst, math.floor(self.per_second * interval.total_seconds() + 1e-9)))


ARM_READS = Budget(250, 25.0)
ARM_WRITES = Budget(200, 10.0)
AKS_OPERATION_STATUS = Budget(200, 2.0)


@dataclass(frozen=True)
class RoundBudget:
    """Per subscription and round: how many upgrades may start, how many running ones to look at."""

    starts: int
    looks: int
    #: Resource Manager reads for looking: the looks, then the health checks (a cluster GET, and
    #: with alerts an alert list: reads that the AKS operation-status bucket does not count).
    looking_reads: int


def round_budget(interval: timedelta) -> RoundBudget:
    """The budget of one round when rounds are ``interval`` apart."""
    reads = ARM_READS.per_round(interval)
    looking = max(1, reads // 2)
    looks = max(1, min(AKS_OPERATION_STATUS.per_round(interval), looking))
    starts = max(1, min(ARM_WRITES.per_round(interval), reads - looking))
    return RoundBudget(starts, looks, looking)


def take_per_key(items: Sequence[T], key: Callable[[T], str], per_key: int, limit: int | None = None) -> tuple[T, ...]:
    """``items`` in their order, at most ``per_key`` of each key (any case) and ``limit`` in all.

    An item over its key's budget is passed over, not waited for: the next items of other keys
    (other subscriptions) still go.
    """
    taken: list[T] = []
    counts: dict[str, int] = {}
    for item in items:
        if limit is not None and len(taken) >= limit:
            break
        k = key(item).lower()
        if counts.get(k, 0) >= per_key:
            continue
        counts[k] = counts.get(k, 0) + 1
        taken.append(item)
    return tuple(taken)


def to_the_back(items: Sequence[T], moved: Iterable[T]) -> tuple[T, ...]:
    """``items`` with ``moved`` (those among them) last, each group keeping its order: what was
    just looked at waits behind what was not."""
    gone = set(moved)
    return tuple(i for i in items if i not in gone) + tuple(i for i in items if i in gone)

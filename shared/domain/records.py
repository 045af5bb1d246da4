"""What the version store holds for an environment, as the domain sees it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ValidatedRecord:
    """An environment's validated version: every attempted upgrade in it ended Succeeded.

    Stored as PartitionKey ``validated``, RowKey = environment (docs/architecture.md, "Version store
    and audit history"), or read
    from the original ``aksversion``/``1`` row when the lead has no record of its own.
    """

    environment: str
    #: Kubernetes version as stored, e.g. "1.30.5" (validated by the reader).
    version: str
    #: When the version was recorded; timezone-aware UTC. Starts the follower's soak clock.
    validated_at: datetime
    #: The orchestrator instance that wrote it (None for the legacy row).
    instance_id: str | None
    #: Ids of the eligible clusters that ran ``version`` when it was recorded.
    clusters: tuple[str, ...]
    #: "validated" for our records, "legacy" for the original aksversion/1 row.
    source: str = "validated"


@dataclass(frozen=True)
class AuditEntry:
    """One cluster upgrade attempt, kept as history for operators (``python -m ops history``)."""

    instance_id: str
    environment: str
    cluster_id: str
    from_version: str | None
    to_version: str | None
    #: "upgraded" | "already-current" | "skipped" | "failed" | "planned"
    result: str
    reason: str | None
    started_at: datetime
    finished_at: datetime
    #: The run this attempt belongs to: re-runs of one instance id (same environment and date)
    #: are told apart by it. None on rows written before runs had ids.
    run_id: str | None = None
    #: The approval gate's decision this attempt went (or did not go) ahead on: who decided,
    #: "approve" or "reject", and their comment. None where no approval was asked for.
    decided_by: str | None = None
    decision: str | None = None
    decision_comment: str | None = None
    #: The status of the whole run this attempt belongs to (``succeeded``, ``failed``, ...), so
    #: that the history alone tells how a run ended. None on rows written before it was recorded.
    run_status: str | None = None

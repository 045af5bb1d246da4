"""Pre-flight findings that cost a read per cluster, for ``ops plan`` only.

A run's planning stays at its few requests; a person who asks what a run would do can afford
one more read per cluster it would upgrade: its planned maintenance configurations.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from shared import runtime
from shared.activities.common import parallel
from shared.domain import findings
from shared.domain.planning import ClusterPlan, EnvironmentPlan
from shared.errors import ArmPermanentError, TransientError


def with_maintenance_findings(plan: EnvironmentPlan, now: datetime) -> EnvironmentPlan:
    """``plan`` with each cluster it would upgrade carrying its maintenance findings too."""
    arm = runtime.services().arm

    def enrich(cluster: ClusterPlan) -> ClusterPlan:
        if cluster.action != "upgrade":
            return cluster
        try:
            found = findings.of_maintenance(arm.maintenance_configurations(cluster.id), now)
        except (ArmPermanentError, TransientError) as exc:
            found = (f"planned maintenance could not be read: {exc}",)
        return replace(cluster, findings=cluster.findings + found) if found else cluster

    return replace(plan, clusters=tuple(parallel(enrich, plan.clusters)))

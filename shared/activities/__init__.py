"""The work behind each activity function, by concern. Every side effect of a run happens here.

- :mod:`shared.activities.planning`: discover an environment's clusters, read their versions and
  plan each one (``UpgradeLeadEnvironment``, ``UpgradeFollowerEnvironment``);
- :mod:`shared.activities.upgrades`: start one cluster's upgrade, look at the running ones and
  check the health of those that ended (``StartClusterUpgrade``, ``CheckUpgradeProgress``,
  ``CheckClusterHealth``);
- :mod:`shared.activities.records`: the settings a run decides on, the validated version, the
  audit history, the notification and the request for approval (``LoadRolloutSettings``,
  ``RecordValidatedVersion``, ``RecordUpgradeHistory``, ``NotifyRollout``, ``RequestApproval``);
- :mod:`shared.activities.preflight`: what ``ops plan`` adds to a plan (planned maintenance).

Error policy: ARM's permanent answers are returned as data (they fail one cluster, not the run);
transient ones either come back as data the orchestrator backs off on (starting an upgrade) or
are raised so ``call_activity_with_retry`` tries again (reads, records).
"""

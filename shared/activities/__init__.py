"""The work behind each activity function, by concern. Every side effect of a run happens here.

- :mod:`shared.activities.planning`: discover an environment's clusters, read their versions and
  plan each one (``UpgradeLeadEnvironment``, ``UpgradeFollowerEnvironment``);
- :mod:`shared.activities.upgrades`: start one cluster's upgrade and look at the running ones
  (``StartClusterUpgrade``, ``CheckUpgradeProgress``);
- :mod:`shared.activities.records`: the settings a run decides on, the validated version, the
  audit history and the notification (``LoadRolloutSettings``, ``RecordValidatedVersion``,
  ``RecordUpgradeHistory``, ``NotifyRollout``).

Error policy: ARM's permanent answers are returned as data (they fail one cluster, not the run);
transient ones either come back as data the orchestrator backs off on (starting an upgrade) or
are raised so ``call_activity_with_retry`` tries again (reads, records).
"""

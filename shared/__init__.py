"""All logic of the AKS upgrade conductor.

Three layers, checked by import-linter (see pyproject.toml):
- ``shared.domain``: pure rules (versions, rollout plan, targets, results); no Azure imports.
- ``shared.adapters``: ARM, version store, audit log, notifier; each wraps one SDK client.
- ``shared.settings``, ``shared.errors``, ``shared.activities`` (planning, upgrades, records) and
  ``shared.orchestration`` tie them together for the function folders and the ``ops`` command line.
"""

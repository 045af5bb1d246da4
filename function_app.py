"""The Functions app: one DFApp, one blueprint per function folder (Python v2 programming model)."""

import azure.durable_functions as df
import azure.functions as func

import CheckUpgradeProgress
import HttpStarter
import LoadRolloutSettings
import NotifyRollout
import RecordUpgradeHistory
import RecordValidatedVersion
import StartClusterUpgrade
import TimerStarter
import UpgradeFollowerEnvironment
import UpgradeLeadEnvironment
import UpgradeOrchestrator

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

for module in (
    TimerStarter,
    HttpStarter,
    UpgradeOrchestrator,
    UpgradeLeadEnvironment,
    UpgradeFollowerEnvironment,
    LoadRolloutSettings,
    StartClusterUpgrade,
    CheckUpgradeProgress,
    RecordValidatedVersion,
    RecordUpgradeHistory,
    NotifyRollout,
):
    app.register_functions(module.bp)

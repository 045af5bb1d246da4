"""The Functions app: one DFApp, one blueprint per function folder (Python v2 programming model)."""

import azure.durable_functions as df
import azure.functions as func

import CheckClusterHealth
import CheckUpgradeProgress
import HttpStarter
import LoadRolloutSettings
import NotifyRollout
import RecordUpgradeHistory
import RecordValidatedVersion
import RequestApproval
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
    RequestApproval,
    CheckClusterHealth,
):
    app.register_functions(module.bp)

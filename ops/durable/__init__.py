"""In-process Durable Functions: the replay driver and a local Durable HTTP API.

``driver`` runs the real orchestrator generator through the SDK's replay machinery;
``http_api`` serves the routes DurableOrchestrationClient calls, backed by the driver;
``registry`` indexes a v2-model ``df.DFApp`` by function name.
"""

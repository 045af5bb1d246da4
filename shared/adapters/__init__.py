"""Adapters around the SDK clients: the only modules allowed to import azure.* and slack_sdk."""

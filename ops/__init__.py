"""Operator tooling that runs without the Functions host: CLI, in-process durable driver,
ARM emulator, Azurite launcher, demo and benchmark."""

"""Test-wide fixtures. Service fixtures (ARM emulator, Azurite, durable client route) live in tests/plugins/."""

pytest_plugins = [
    "tests.plugins.arm_emulator",
    "tests.plugins.azurite",
    "tests.plugins.durable",
    "tests.plugins.slack",
]

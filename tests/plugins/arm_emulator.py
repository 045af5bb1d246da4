"""pytest fixtures: arm_emulator (filled by its owner)."""

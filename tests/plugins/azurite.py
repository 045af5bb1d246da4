"""pytest fixtures: azurite (filled by its owner)."""

"""pytest fixtures: durable (filled by its owner)."""

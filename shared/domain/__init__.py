"""Pure rollout rules: no Azure, no I/O, no clock. Everything here is a function of its arguments."""

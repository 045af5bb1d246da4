"""The conductor's exceptions, classified once, where they are raised.

    ConductorError
    ├── ConfigError                 bad settings; lists every bad one; the run contacts nothing
    ├── UsageError                  bad command-line or HTTP input (unknown environment, bad date)
    ├── TransientError              worth retrying with backoff: ARM 429/5xx/409-in-progress, store down
    │   ├── ArmTransientError         carries ARM's code/message and a retry-after hint
    │   └── StoreUnavailableError     the version store could not be reached
    └── PermanentError              retrying will not help: fail the cluster (or refuse the run)
        ├── ArmPermanentError         ARM said no (4xx, operation Failed); carries code and message
        ├── ConcurrentChangeError     the cluster changed between GET and PUT (412) too many times
        └── StoreError                the version store answered, but its content is unusable
            └── VersionTableMissingError   the table does not exist

The orchestrator retries activities that raise TransientError (``call_activity_with_retry``);
permanent failures of one cluster travel in activity results, not exceptions, so that
one bad cluster fails only itself.
"""

from __future__ import annotations


class ConductorError(Exception):
    """Root of every error the conductor raises on purpose."""


class ConfigError(ConductorError):
    """One or more settings are invalid; ``problems`` maps each setting name to what is wrong."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = dict(problems)
        lines = "; ".join(f"{name}: {why}" for name, why in sorted(self.problems.items()))
        super().__init__(f"invalid settings ({len(self.problems)}): {lines}")


class UsageError(ConductorError):
    """Input from an operator (CLI flag, HTTP body field) is invalid; ``field`` names it."""

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


class TransientError(ConductorError):
    """A failure that may pass: retry with backoff, within a bound."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(message)


class ArmTransientError(TransientError):
    """ARM throttled (429), failed on its side (5xx) or refused while another operation runs (409)."""

    def __init__(self, code: str, message: str, status: int | None = None, retry_after_s: float | None = None) -> None:
        self.code = code
        self.arm_message = message
        self.status = status
        super().__init__(f"{code}: {message}", retry_after_s)


class StoreUnavailableError(TransientError):
    """The version store could not be reached (connection refused, timeout, 5xx)."""


class PermanentError(ConductorError):
    """A failure retrying will not fix."""


class ArmPermanentError(PermanentError):
    """ARM rejected the request or the operation ended Failed/Canceled; keeps ARM's code and message."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        self.code = code
        self.arm_message = message
        self.status = status
        super().__init__(f"{code}: {message}")


class ConcurrentChangeError(PermanentError):
    """The cluster's ETag kept changing between our GET and PUT (HTTP 412); we never overwrite blindly."""


class StoreError(PermanentError):
    """The version store answered, but a record is malformed; ``field`` names the bad property."""

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


class VersionTableMissingError(StoreError):
    """The version table does not exist, so no environment has a validated version yet."""

"""The typed failures of reading a source (no imports: adapters, clients and the engine
all use them)."""
from enum import StrEnum


class ProblemKind(StrEnum):
    TRANSIENT = "transient"  # retry later: timeouts, connection errors, 5xx, rate limits
    PERMANENT = "permanent"  # will not fix itself: no contract, revert, malformed answer
    REJECTED = "rejected"  # a value came back but must not become a price: quarantine it


class AdapterError(Exception):
    """A failure of a whole request (all feeds in it share the fate)."""

    kind = ProblemKind.TRANSIENT
    reason = "error"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        if reason:
            self.reason = reason


class TransientError(AdapterError):
    kind = ProblemKind.TRANSIENT
    reason = "transient"


class PermanentError(AdapterError):
    kind = ProblemKind.PERMANENT
    reason = "permanent"

"""The error every use case raises for a refusal the caller should see."""
from __future__ import annotations


class ServiceError(Exception):
    """A refusal with a stable code (see docs/protocol.md) and a readable message."""

    def __init__(self, code: str, message: str, *, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}

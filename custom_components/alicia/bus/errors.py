"""What the contract refuses, with the docs' codes."""

from __future__ import annotations

from typing import Any


class ProtocolError(ValueError):
    """A message that breaks the contract; `code` is one of docs/protocol.md's error codes."""

    def __init__(
        self, code: str, message: str, envelope: dict[str, Any] | None = None
    ) -> None:
        """Keep how far the message could be read, to answer its sender."""
        super().__init__(message)
        self.code = code
        self.envelope = envelope


class SecurityError(Exception):
    """A message refused for security; `code` is one of docs/security.md's codes."""

    def __init__(self, code: str, message: str) -> None:
        """Keep the code apart from the text."""
        super().__init__(message)
        self.code = code

"""Verified identity (docs/security.md): hardened host tokens, codes by email, duplicates, email change."""
from __future__ import annotations

from .service import IdentityService, Rates, Visitor, device_hash
from .tokens import HostTokens, SessionTokens

__all__ = ["HostTokens", "IdentityService", "Rates", "SessionTokens", "Visitor", "device_hash"]

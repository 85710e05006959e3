"""chatserver: live-chat support with language routing and an AI fallback agent.

Importing the package stays light: `chatserver run` must let gevent patch the
standard library before Flask, Redis or urllib3 are imported.
"""
from __future__ import annotations

from typing import Any


def create_app(config: Any = None) -> Any:
    """Create the Flask app; see chatserver.app.create_app."""
    from .app import create_app as _create_app

    return _create_app(config)

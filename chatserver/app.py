"""The app factory: load the configuration, wire the services, register HTTP and Socket.IO."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_socketio import SocketIO

from . import config as config_module
from . import logs

# Unbound here, bound to the app in create_app (microblog's pattern).
socketio = SocketIO()


def origin_policy(allowed: str | list[str]) -> Any:
    """Return what Socket.IO accepts as Origin: the configured origins plus the server's own."""
    if allowed == "*":
        return "*"
    allowed_set = frozenset(allowed)

    def allow(origin: str | None, environ: Mapping[str, Any]) -> bool:
        # The server's own pages (/demo, the consoles) and clients that send
        # the server's own URL as Origin are always welcome.
        # Host is what the browser connected to; X-Forwarded-Host is not
        # trusted, a page could try to forge it.
        scheme = environ.get("HTTP_X_FORWARDED_PROTO", environ.get("wsgi.url_scheme", "http"))
        return origin in allowed_set or origin == f"{scheme}://{environ.get('HTTP_HOST', '')}"

    return allow


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Create the app: load the configuration, wire the services, register HTTP and Socket.IO."""
    app = Flask(__name__, instance_relative_config=True)
    settings = config_module.from_env()
    settings.update(config or {})
    app.config.update(config_module.finalize(settings, instance_path=app.instance_path))
    logs.configure(level=app.config["LOG_LEVEL"], fmt=app.config["LOG_FORMAT"])

    from .wiring import build_services

    container = build_services(app.config, spawn=socketio.start_background_task)
    app.extensions["chatserver"] = container
    from .realtime.queue import make_client_manager

    socketio.init_app(
        app,
        async_mode=app.config.get("ASYNC_MODE"),
        message_queue=container.state.message_queue_url,
        # The Redis message queue, probed so that a deaf listener shows in /healthz.
        client_manager=make_client_manager(container.state.message_queue_url,
                                           channel=app.config["REDIS_PREFIX"] + "socketio",
                                           probe_interval=app.config["MESSAGE_QUEUE_PROBE_INTERVAL"],
                                           deaf_after=app.config["MESSAGE_QUEUE_DEAF_AFTER"]),
        cors_allowed_origins=origin_policy(app.config["ALLOWED_ORIGINS"]),
        # Identity lives on the socket session set at connect, never in Flask's cookie session.
        manage_session=False,
        # The largest packet a client may send; bigger ones close the connection.
        max_http_buffer_size=app.config["MAX_PAYLOAD_BYTES"],
        # A dead client is noticed within 30 s; widgets on mobile networks
        # survive a 10 s stall.
        ping_interval=app.config["PING_INTERVAL"],
        ping_timeout=app.config["PING_TIMEOUT"],
    )

    from . import http, realtime

    http.init_app(app)
    realtime.init_app(app, socketio)
    container.ai.bind()
    return app

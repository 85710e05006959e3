"""HTTP at the edge: the REST API and the health check."""
from __future__ import annotations

from flask import Flask

from .api import api
from .demo import demo
from .errors import init_app as init_errors
from .reports import reports
from .webhooks import webhooks
from .widget import widget


def init_app(app: Flask) -> None:
    app.register_blueprint(api)
    app.register_blueprint(demo)
    app.register_blueprint(widget)
    app.register_blueprint(webhooks)
    app.register_blueprint(reports)
    init_errors(app)

"""HTTP at the edge: the REST API and the health check."""
from __future__ import annotations

from flask import Flask

from . import authz
from .api import api
from .consoles import consoles
from .demo import demo
from .errors import init_app as init_errors
from .identity import identity
from .reports import reports
from .webhooks import webhooks
from .widget import widget


def init_app(app: Flask) -> None:
    authz.init_app(app)
    app.register_blueprint(api)
    app.register_blueprint(demo)
    app.register_blueprint(consoles)
    app.register_blueprint(widget)
    app.register_blueprint(webhooks)
    app.register_blueprint(identity)
    app.register_blueprint(reports)
    init_errors(app)

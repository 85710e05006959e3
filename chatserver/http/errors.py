"""Every HTTP error is JSON: {"error": {"code", "message"}}."""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from ..services.errors import ServiceError

log = logging.getLogger(__name__)


def error_response(code: str, message: str, status: int):
    return jsonify(error={"code": code, "message": message}), status


def init_app(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def service_error(error: ServiceError):
        return error_response(error.code, error.message, error.status)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = (error.name or "error").lower().replace(" ", "_")
        return error_response(code, error.description or error.name, error.code or 500)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        # The trace goes to the log, never to the caller.
        log.exception("unhandled error")
        return error_response("internal", "Something went wrong on our side.", 500)

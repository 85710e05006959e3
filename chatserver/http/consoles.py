"""The agent console (/console) and the admin console (/admin): server-rendered pages, signed in by cookie."""
from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, url_for

from ..config import TEAMS
from ..language.names import LANGUAGES
from ..services import services
from ..services.errors import ServiceError
from .authz import check_csrf, csrf_token, safe_next, session_agent, sign_in, sign_out

consoles = Blueprint("consoles", __name__)


@consoles.after_request
def _no_store(response):
    # Pages with a CSRF token and people's data stay out of shared caches and the back-forward cache.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _languages() -> list[tuple[str, str]]:
    """Every language an admin may choose, by English name."""
    return sorted(((code, names[0]) for code, names in LANGUAGES.items()), key=lambda item: item[1])


@consoles.get("/console/login")
def login_page():
    return render_template("console/login.html", csrf=csrf_token(), next=safe_next(request.args.get("next")),
                           error=None, email="")


@consoles.post("/console/login")
def login():
    next_page = safe_next(request.form.get("next"))
    email = request.form.get("email", "")
    try:
        check_csrf()
        _, agent = services().auth.login(email=email, password=request.form.get("password", ""),
                                         remote=request.remote_addr)
    except ServiceError as error:
        return render_template("console/login.html", csrf=csrf_token(), next=next_page, error=error.message,
                               email=email), error.status
    sign_in(agent)
    return redirect(next_page if agent.role == "admin" or next_page != "/admin" else "/console")


@consoles.post("/console/logout")
def logout():
    check_csrf()
    sign_out()
    return redirect(url_for("consoles.login_page"))


@consoles.post("/console/token")
def socket_token():
    """Give the console page a bearer token for its socket; the page itself never sees the cookie."""
    agent = session_agent()
    if agent is None:
        raise ServiceError("unauthorized", "Sign in to the console first.", status=401)
    check_csrf()
    return jsonify(token=services().auth.issue_agent_token(agent))


@consoles.get("/console")
def console():
    agent = session_agent()
    if agent is None:
        return redirect(url_for("consoles.login_page", next="/console"))
    return render_template("console/agent.html", agent=agent, csrf=csrf_token(), teams=TEAMS,
                           language_names={code: names[0] for code, names in LANGUAGES.items()})


@consoles.get("/admin")
def admin():
    agent = session_agent()
    if agent is None:
        return redirect(url_for("consoles.login_page", next="/admin"))
    if agent.role != "admin":
        return render_template("console/forbidden.html", agent=agent, csrf=csrf_token()), 403
    return render_template("console/admin.html", agent=agent, csrf=csrf_token(), teams=TEAMS,
                           languages=_languages(), language_names={code: names[0] for code, names in LANGUAGES.items()})

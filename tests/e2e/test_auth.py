"""Who may connect and call: visitor identities, agent tokens and the admin REST API, end to end.

Refused Socket.IO connections must reach the client's `connect_error` handler as {code, message}
(docs/protocol.md); REST refusals are 401/403 with {error: {code, message}}.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
import warnings
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import jwt
import pytest
import requests

from ..support import IDENTITY_SECRET, SECRET_KEY, Api, Peer, connect_error, identity_token, unique

AGENT_AUDIENCE = "chatserver:agent"
OTHER_SECRET = "another-host-site-secret-" + "z" * 16


# --- helpers (local: tests/support.py is being edited elsewhere) ------------------------------------


def now() -> datetime:
    return datetime.now(timezone.utc)


def sign(claims: dict[str, Any], secret: str = IDENTITY_SECRET, algorithm: str = "HS256") -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT warns about short HMAC keys; these tokens are meant to be bad
        return jwt.encode(claims, secret, algorithm=algorithm)


def unsigned(claims: dict[str, Any]) -> str:
    """A token with alg "none" and no signature."""
    return jwt.encode(claims, None, algorithm="none")


def identity_claims(client: dict[str, Any], **changes: Any) -> dict[str, Any]:
    claims = {"sub": client["personal_id"], "email": client["email"], "iat": now(), "exp": now() + timedelta(minutes=30),
              "jti": uuid.uuid4().hex}
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


def agent_claims(agent: dict[str, Any], **changes: Any) -> dict[str, Any]:
    claims = {"sub": str(agent["id"]), "ver": 1, "aud": AGENT_AUDIENCE, "iat": now(), "exp": now() + timedelta(hours=1)}
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


def assert_refusal(data: Any, code: str) -> None:
    """A refusal delivered to connect_error is {code, message}."""
    assert isinstance(data, dict), data
    assert data.get("code") == code, f"expected refusal code {code!r}, got {data!r}"
    # code and message at the top (python-socketio), and again under "data" (the JavaScript client's err.data)
    assert set(data) == {"code", "message", "data"} and data["data"] == {"code": code, "message": data["message"]}, data
    assert isinstance(data["message"], str) and data["message"], data


def assert_rest_error(response: requests.Response, status: int, code: str) -> None:
    assert response.status_code == status, (response.request.method, response.url, response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body


def call(world, method: str, path: str, *, token: str | None = None, raw_authorization: str | None = None,
         json: Any = None) -> requests.Response:
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if raw_authorization is not None:
        headers["Authorization"] = raw_authorization
    return requests.request(method, world.url + path, headers=headers, json=json, timeout=10)


@pytest.fixture(scope="module")
def client(world) -> dict[str, Any]:
    """One verified, active client for the identity cases."""
    return world.client()


@pytest.fixture(scope="module")
def agent(world) -> dict[str, Any]:
    """One ordinary (non-admin) agent."""
    return world.agent(languages=["en"])


# --- /visitor connect -------------------------------------------------------------------------------------

# Each case builds the connect `auth` from the module's client; expected refusal code.
VISITOR_REFUSALS: dict[str, tuple[Callable[[dict], Any], str]] = {
    "no auth": (lambda c: None, "missing_identity"),
    "empty auth": (lambda c: {}, "missing_identity"),
    "auth not an object": (lambda c: "just-a-string", "missing_identity"),
    "identity under another key": (lambda c: {"token": c["identity"]}, "missing_identity"),
    "empty identity": (lambda c: {"identity": ""}, "missing_identity"),
    "identity not a string": (lambda c: {"identity": 12345}, "missing_identity"),
    "identity as an object": (lambda c: {"identity": {"sub": c["personal_id"]}}, "missing_identity"),
    "garbage token": (lambda c: {"identity": "not-a-jwt"}, "invalid_identity"),
    "garbage with dots": (lambda c: {"identity": "aaa.bbb.ccc"}, "invalid_identity"),
    "tampered payload": (lambda c: {"identity": tamper(c["identity"])}, "invalid_identity"),
    "signed with another secret": (lambda c: {"identity": sign(identity_claims(c), OTHER_SECRET)}, "invalid_identity"),
    "signed with HS512": (lambda c: {"identity": sign(identity_claims(c), IDENTITY_SECRET, "HS512")}, "invalid_identity"),
    "alg none": (lambda c: {"identity": unsigned(identity_claims(c))}, "invalid_identity"),
    "expired": (lambda c: {"identity": identity_token(c["personal_id"], c["email"], expires_in=timedelta(minutes=-5))}, "identity_expired"),
    "missing exp": (lambda c: {"identity": sign(identity_claims(c, exp=None))}, "invalid_identity"),
    "exp not a number": (lambda c: {"identity": sign({**identity_claims(c, exp=None), "exp": "never"})}, "invalid_identity"),
    "missing sub": (lambda c: {"identity": sign(identity_claims(c, sub=None))}, "invalid_identity"),
    "missing email": (lambda c: {"identity": sign(identity_claims(c, email=None))}, "invalid_identity"),
    "not yet valid (nbf)": (lambda c: {"identity": sign(identity_claims(c, nbf=now() + timedelta(hours=1)))}, "invalid_identity"),
    "email of someone else": (lambda c: {"identity": identity_token(c["personal_id"], f"{unique('other')}@example.com")}, "email_mismatch"),
    "unknown personal ID": (lambda c: {"identity": identity_token("C-NOSUCH99", c["email"])}, "unknown_client"),
    "personal ID with a NUL byte": (lambda c: {"identity": identity_token(c["personal_id"] + "\x00", c["email"])}, "invalid_identity"),
    "missing jti": (lambda c: {"identity": sign(identity_claims(c, jti=None))}, "invalid_identity"),
    "jti not a string": (lambda c: {"identity": sign(identity_claims(c, jti=12345))}, "invalid_identity"),
    "unknown kid": (lambda c: {"identity": identity_token(c["personal_id"], c["email"], kid="rotated-away")}, "unknown_key"),
    "kid not a string": (lambda c: {"identity": sign_with_header(identity_claims(c), {"kid": 7})}, "invalid_identity"),
    "lifetime over 24 h": (lambda c: {"identity": sign(identity_claims(c, exp=now() + timedelta(hours=25)))}, "identity_lifetime"),
    "lifetime over 24 h, no iat": (lambda c: {"identity": sign(identity_claims(c, iat=None, exp=now() + timedelta(days=30)))}, "identity_lifetime"),
    "issued in the future": (lambda c: {"identity": sign(identity_claims(c, iat=now() + timedelta(hours=1)))}, "invalid_identity"),
    "agent token instead of identity": (lambda c: {"identity": sign(agent_claims({"id": 1}), SECRET_KEY)}, "invalid_identity"),
}


def tamper(token: str) -> str:
    """Swap the payload of a valid token for another one, keeping the signature."""
    header, _, signature = token.split(".")
    other = sign({"sub": "C-FORGED00", "email": "x@example.com", "exp": now() + timedelta(hours=1)}, OTHER_SECRET).split(".")[1]
    return f"{header}.{other}.{signature}"


@pytest.mark.parametrize("case", list(VISITOR_REFUSALS))
def test_visitor_connect_is_refused_with_the_right_code(world, client: dict[str, Any], case: str) -> None:
    build, code = VISITOR_REFUSALS[case]
    assert_refusal(connect_error(world.url, "/visitor", build(client)), code)


def sign_with_header(claims: dict[str, Any], header: dict[str, Any]) -> str:
    """Sign by hand, for headers PyJWT refuses to write."""
    def part(data: dict[str, Any]) -> bytes:
        return base64.urlsafe_b64encode(json.dumps(data, default=int).encode()).rstrip(b"=")

    claims = {key: int(value.timestamp()) if isinstance(value, datetime) else value for key, value in claims.items()}
    signing_input = part({"alg": "HS256", "typ": "JWT", **header}) + b"." + part(claims)
    signature = base64.urlsafe_b64encode(hmac.new(IDENTITY_SECRET.encode(), signing_input, hashlib.sha256).digest())
    return (signing_input + b"." + signature.rstrip(b"=")).decode()


def test_visitor_connect_refused_when_suspended(world, peers: list[Peer]) -> None:
    suspended = world.client()
    open_peer = world.visitor(suspended)
    peers.append(open_peer)
    world.admin.ok("PUT", f"/api/admin/clients/{suspended['personal_id']}/status", {"status": "suspended", "reason": "abuse"})
    # The open socket is told why and ended at once, not only refused at its next connect.
    revoked = open_peer.wait_for("revoked")
    assert revoked["code"] == "suspended"
    deadline = time.monotonic() + 5
    while open_peer.client.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not open_peer.client.connected
    assert_refusal(connect_error(world.url, "/visitor", {"identity": suspended["identity"]}), "suspended")
    # Lifting the suspension lets the client in again.
    world.admin.ok("PUT", f"/api/admin/clients/{suspended['personal_id']}/status", {"status": "active"})
    back = world.visitor(suspended)
    peers.append(back)
    assert back.call("history")["ok"]


def test_an_identity_token_works_once(world, peers: list[Peer], client: dict[str, Any]) -> None:
    token = identity_token(client["personal_id"], client["email"])
    first = Peer(world.url, "/visitor").connect({"identity": token})
    peers.append(first)
    assert first.call("history")["ok"]
    assert_refusal(connect_error(world.url, "/visitor", {"identity": token}), "identity_replayed")
    # A refused replay does not disturb the socket that used the token first.
    assert first.call("history")["ok"]
    # The widget reconnects with the session the first connect handed it, not with the spent token.
    session = first.wait_for("identity")
    assert session["verified"] is True and session["personal_id"] == client["personal_id"] and session["session"]
    again = Peer(world.url, "/visitor").connect({"session": session["session"]})
    peers.append(again)
    assert again.call("history")["ok"]
    # Reconnecting hands back the same session: it is never extended.
    assert again.wait_for("identity")["session"] == session["session"]
    assert_refusal(connect_error(world.url, "/visitor", {"session": tamper(session["session"])}), "invalid_session")


def test_visitor_connect_accepted_with_a_valid_identity(world, peers: list[Peer], client: dict[str, Any]) -> None:
    peer = world.visitor(client, languages=["de-DE", "en"], panel_language="de")
    peers.append(peer)
    assert peer.client.connected
    assert peer.call("history") == {"ok": True, "conversation": None, "messages": []}
    # The email claim is compared case-insensitively (emails are stored lower-case).
    upper = Peer(world.url, "/visitor").connect({"identity": identity_token(client["personal_id"], client["email"].upper())})
    peers.append(upper)
    assert upper.call("history")["ok"]
    # A refused attempt does not disturb the accepted socket.
    connect_error(world.url, "/visitor", {"identity": "not-a-jwt"})
    assert peer.call("history")["ok"]


# --- /agent connect ------------------------------------------------------------------------------------------

AGENT_REFUSALS: dict[str, tuple[Callable[[dict], Any], str]] = {
    "no auth": (lambda a: None, "unauthorized"),
    "empty auth": (lambda a: {}, "unauthorized"),
    "auth not an object": (lambda a: a["token"], "unauthorized"),
    "empty token": (lambda a: {"token": ""}, "unauthorized"),
    "token not a string": (lambda a: {"token": 42}, "unauthorized"),
    "garbage token": (lambda a: {"token": "garbage"}, "invalid_token"),
    "expired-looking garbage": (lambda a: {"token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIiwiZXhwIjoxfQ.c2lnbmF0dXJl"}, "invalid_token"),
    "expired": (lambda a: {"token": sign(agent_claims(a, iat=now() - timedelta(hours=2), exp=now() - timedelta(hours=1)), SECRET_KEY)}, "token_expired"),
    "signed with another secret": (lambda a: {"token": sign(agent_claims(a), OTHER_SECRET)}, "invalid_token"),
    "alg none": (lambda a: {"token": unsigned(agent_claims(a))}, "invalid_token"),
    "wrong audience": (lambda a: {"token": sign(agent_claims(a, aud="someone-else"), SECRET_KEY)}, "invalid_token"),
    "missing exp": (lambda a: {"token": sign(agent_claims(a, exp=None), SECRET_KEY)}, "invalid_token"),
    "revoked (old version)": (lambda a: {"token": sign(agent_claims(a, ver=0), SECRET_KEY)}, "invalid_token"),
    "unknown agent": (lambda a: {"token": sign(agent_claims(a, sub="999999"), SECRET_KEY)}, "invalid_token"),
    "non-numeric subject": (lambda a: {"token": sign(agent_claims(a, sub="admin"), SECRET_KEY)}, "invalid_token"),
    "visitor identity instead of token": (lambda a: {"token": identity_token("C-ABCDEFGH", "x@example.com")}, "invalid_token"),
    "token in a Bearer string": (lambda a: {"token": "Bearer " + a["token"]}, "invalid_token"),
}


@pytest.mark.parametrize("case", list(AGENT_REFUSALS))
def test_agent_connect_is_refused_with_the_right_code(world, agent: dict[str, Any], case: str) -> None:
    build, code = AGENT_REFUSALS[case]
    assert_refusal(connect_error(world.url, "/agent", build(agent)), code)


def test_agent_connect_accepted_with_a_login_token(world, peers: list[Peer], agent: dict[str, Any]) -> None:
    peer = world.agent_peer(agent)
    peers.append(peer)
    assigned = peer.wait_for("assigned")
    assert assigned == {"conversations": []}
    queue = peer.wait_for("queue")
    assert queue["status"] == "online" and queue["capacity"] == 3
    assert peer.call("queue")["ok"]


# --- REST -----------------------------------------------------------------------------------------------------

ADMIN_ENDPOINTS = [
    ("GET", "/api/admin/languages", None),
    ("PUT", "/api/admin/languages", {"languages": ["en", "fr"]}),
    ("GET", "/api/admin/agents", None),
    ("POST", "/api/admin/agents", {"email": "intruder@example.com", "name": "Intruder", "password": "intruder-pass-1",
                                   "role": "admin"}),
    ("GET", "/api/admin/clients", None),
    ("POST", "/api/admin/clients", {"email": "intruder-client@example.com", "name": "Intruder"}),
]


@pytest.mark.parametrize("method,path,body", ADMIN_ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ADMIN_ENDPOINTS])
def test_admin_endpoints_refuse_missing_bad_and_non_admin_tokens(world, agent: dict[str, Any], method: str, path: str,
                                                                  body: Any) -> None:
    languages = world.admin.ok("GET", "/api/admin/languages")["languages"]
    assert_rest_error(call(world, method, path, json=body), 401, "unauthorized")
    assert_rest_error(call(world, method, path, raw_authorization="", json=body), 401, "unauthorized")
    assert_rest_error(call(world, method, path, raw_authorization="Bearer", json=body), 401, "unauthorized")
    assert_rest_error(call(world, method, path, raw_authorization="Bearer ", json=body), 401, "unauthorized")
    assert_rest_error(call(world, method, path, raw_authorization=f"Basic {world.admin.token}", json=body), 401, "unauthorized")
    assert_rest_error(call(world, method, path, token="garbage", json=body), 401, "invalid_token")
    assert_rest_error(call(world, method, path, token=sign(agent_claims(agent), OTHER_SECRET), json=body), 401, "invalid_token")
    expired = sign(agent_claims(agent, iat=now() - timedelta(hours=2), exp=now() - timedelta(hours=1)), SECRET_KEY)
    assert_rest_error(call(world, method, path, token=expired, json=body), 401, "token_expired")
    assert_rest_error(call(world, method, path, token=agent["token"], json=body), 403, "forbidden")
    # Nothing changed behind the refusals.
    assert world.admin.ok("GET", "/api/admin/languages")["languages"] == languages
    emails = [a["email"] for a in world.admin.ok("GET", "/api/admin/agents")["agents"]]
    assert "intruder@example.com" not in emails
    clients = [c["email"] for c in world.admin.ok("GET", "/api/admin/clients")["clients"]]
    assert "intruder-client@example.com" not in clients


def test_admin_endpoints_accept_an_admin_token(world) -> None:
    admin = world.admin
    assert admin.ok("GET", "/api/admin/agents")["agents"]
    assert isinstance(admin.ok("GET", "/api/admin/clients")["clients"], list)
    # The scheme is case-insensitive.
    response = call(world, "GET", "/api/admin/languages", raw_authorization=f"bearer {admin.token}")
    assert response.status_code == 200, response.text


def test_me_needs_a_valid_token(world, agent: dict[str, Any]) -> None:
    assert_rest_error(call(world, "GET", "/api/me"), 401, "unauthorized")
    assert_rest_error(call(world, "GET", "/api/me", token="garbage"), 401, "invalid_token")
    me = Api(world.url, agent["token"]).ok("GET", "/api/me")["agent"]
    assert me["id"] == agent["id"] and me["role"] == "agent" and "password_hash" not in me


def test_login_refuses_wrong_password_and_unknown_email_alike(world, agent: dict[str, Any]) -> None:
    wrong = requests.post(world.url + "/api/auth/login", json={"email": agent["email"], "password": "wrong-password-1"}, timeout=10)
    unknown = requests.post(world.url + "/api/auth/login",
                            json={"email": f"{unique('nobody')}@example.com", "password": "agent-password-1"}, timeout=10)
    empty = requests.post(world.url + "/api/auth/login", json={"email": agent["email"], "password": ""}, timeout=10)
    for response in (wrong, unknown, empty):
        assert_rest_error(response, 401, "invalid_credentials")
        assert "token" not in response.json()
    # Same code and same message: the answer does not tell whether the email exists.
    assert wrong.json() == unknown.json()


def test_login_accepts_the_right_password_and_normalizes_the_email(world, agent: dict[str, Any]) -> None:
    response = requests.post(world.url + "/api/auth/login",
                             json={"email": f"  {agent['email'].upper()} ", "password": "agent-password-1"}, timeout=10)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["agent"]["id"] == agent["id"] and "password_hash" not in body["agent"]
    claims = jwt.decode(body["token"], SECRET_KEY, algorithms=["HS256"], audience=AGENT_AUDIENCE)
    assert claims["sub"] == str(agent["id"]) and claims["exp"] > now().timestamp()
    # The password is case-sensitive.
    wrong_case = requests.post(world.url + "/api/auth/login", json={"email": agent["email"], "password": "AGENT-PASSWORD-1"},
                               timeout=10)
    assert_rest_error(wrong_case, 401, "invalid_credentials")


def test_a_fresh_token_works_on_rest_and_socket(world, peers: list[Peer]) -> None:
    email = f"{unique('agent')}@example.com"
    world.admin.ok("POST", "/api/admin/agents", {"email": email, "name": "Fresh", "password": "fresh-password-1"}, status=201)
    token = Api(world.url).login(email, "fresh-password-1")
    assert Api(world.url, token).ok("GET", "/api/me")["agent"]["email"] == email
    peer = Peer(world.url, "/agent").connect({"token": token})
    peers.append(peer)
    assert peer.call("queue")["ok"]
    # A token is not a password.
    assert_rest_error(requests.post(world.url + "/api/auth/login", json={"email": email, "password": token}, timeout=10),
                      401, "invalid_credentials")

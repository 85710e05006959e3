"""Verified identity end to end: codes by email through a real SMTP server, hardened host tokens,
duplicate accounts and their review, and email change by both paths (docs/security.md)."""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from ..mailbox import Mailbox
from ..support import IDENTITY_SECRET, Api, Peer, Stack, connect_error, identity_token, unique
from .conftest import World, running_world

INBOUND_SECRET = "inbound-secret-" + "q" * 20
ONLY_KEY = "the-only-key-" + "c" * 24
KEYS = {"k1": "first-rotating-key-" + "a" * 16, "k2": "second-rotating-key-" + "b" * 16}


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture(scope="module")
def world(stack, tmp_path_factory, mailbox: Mailbox) -> Iterator[World]:
    env = {"SMTP_URL": mailbox.url, "MAIL_FROM": "support@example.com", "INBOUND_EMAIL_SECRET": INBOUND_SECRET,
           "IDENTITY_KEYS": ",".join(f"{kid}:{secret}" for kid, secret in KEYS.items()),
           # Every visitor of this module comes from 127.0.0.1: the per-IP limit has its own test below.
           "IDENTITY_CODE_RATE_IP": "1000"}
    with running_world(stack, str(tmp_path_factory.mktemp("logs")), extra_env=env) as started:
        yield started


def device() -> str:
    return uuid.uuid4().hex


def anonymous(world: World, peers: list[Peer], device_id: str | None = None) -> Peer:
    peer = Peer(world.url, "/visitor").connect({"device_id": device_id or device(), "languages": ["en"]})
    peers.append(peer)
    return peer


def email() -> str:
    return f"{unique('person')}@example.com"


def signed(body: bytes, secret: str = INBOUND_SECRET) -> dict[str, str]:
    return {"X-Chatserver-Signature": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
            "Content-Type": "application/json"}


def inbound(world: World, payload: dict[str, Any], *, secret: str = INBOUND_SECRET) -> requests.Response:
    body = json.dumps(payload).encode()
    return requests.post(world.url + "/api/inbound/email", data=body, headers=signed(body, secret), timeout=10)


def client_by_pid(world: World, personal_id: str) -> dict[str, Any]:
    return next(c for c in world.admin.ok("GET", "/api/admin/clients")["clients"] if c["personal_id"] == personal_id)


def audit(world: World, personal_id: str) -> list[str]:
    entries = world.admin.ok("GET", f"/api/admin/identity/audit?personal_id={personal_id}")["entries"]
    return [entry["action"] for entry in reversed(entries)]


def register(world: World, peers: list[Peer], mailbox: Mailbox, *, device_id: str | None = None,
             name: str | None = None, company: str | None = None) -> tuple[Peer, dict[str, Any], str]:
    """Register a new account from a widget and enter the emailed code; return the socket, the ack and the email."""
    address = email()
    peer = anonymous(world, peers, device_id)
    ack = peer.call("register", {"email": address, "name": name or f"Person {unique()}", "company": company})
    assert ack["ok"], ack
    code = mailbox.wait(address).code()
    return peer, peer.call("verify_code", {"email": address, "code": code}), address


# --- the code flow ---------------------------------------------------------------------------------------


def test_an_unverified_visitor_reads_but_cannot_ask_for_support(world: World, peers: list[Peer]) -> None:
    peer = anonymous(world, peers)
    hello = peer.wait_for("identity")
    assert hello["verified"] is False and "verif" in hello["message"].lower()
    assert peer.call("history") == {"ok": True, "conversation": None, "messages": []}
    for event, data in [("message", {"client_id": "m1", "text": "Please give me server access"}),
                        ("request_human", {}), ("here_and_now", {}), ("email_change", {"new_email": email()})]:
        ack = peer.call(event, data)
        assert ack["ok"] is False and ack["error"]["code"] == "verification_required", (event, ack)
        assert "personal ID" in ack["error"]["message"]
    # Without a device ID (or a token) there is nothing to connect as.
    assert connect_error(world.url, "/visitor", {"device_id": "short"})["code"] == "missing_identity"


def test_sign_in_with_personal_id_and_email_gives_a_session(world: World, peers: list[Peer], mailbox: Mailbox) -> None:
    client = world.client()
    peer = anonymous(world, peers)
    sent = peer.call("verify_start", {"personal_id": client["personal_id"].lower(), "email": client["email"].upper()})
    assert sent["ok"] and sent["sent"] is True
    mail = mailbox.wait(client["email"])
    assert mail.sender == "support@example.com" and "sign-in code" in mail.subject
    code = mail.code()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    refused = peer.call("verify_code", {"email": client["email"], "code": wrong})
    assert refused["ok"] is False and refused["error"]["code"] == "invalid_code"
    assert peer.call("verify_code", {"email": client["email"], "code": "12ab56"})["error"]["code"] == "invalid"
    ack = peer.call("verify_code", {"email": client["email"], "code": code})
    assert ack["ok"] and ack["identity"]["verified"] is True and ack["identity"]["personal_id"] == client["personal_id"]
    # The same socket may now ask for support.
    posted = peer.call("message", {"client_id": "after-verify", "text": "Hello, my site is down."})
    assert posted["ok"], posted
    # The code is spent.
    again = peer.call("verify_code", {"email": client["email"], "code": code})
    assert again["ok"] is False and again["error"]["code"] == "invalid_code"
    # The session reconnects (the widget keeps it), and sees the conversation.
    back = Peer(world.url, "/visitor").connect({"session": ack["identity"]["session"], "device_id": device()})
    peers.append(back)
    assert back.call("history")["messages"][0]["client_id"] == "after-verify"
    assert "identity.verified" in audit(world, client["personal_id"])


def test_too_many_wrong_codes_spend_the_code(world: World, peers: list[Peer], mailbox: Mailbox) -> None:
    client = world.client()
    peer = anonymous(world, peers)
    assert peer.call("verify_start", {"personal_id": client["personal_id"], "email": client["email"]})["ok"]
    code = mailbox.wait(client["email"]).code()
    wrong = f"{(int(code) + 7) % 1_000_000:06d}"
    codes = [peer.call("verify_code", {"email": client["email"], "code": wrong})["error"]["code"] for _ in range(5)]
    assert codes == ["invalid_code"] * 5
    # Even the right code is refused now.
    last = peer.call("verify_code", {"email": client["email"], "code": code})
    assert last["ok"] is False and last["error"]["code"] == "too_many_attempts"


def test_answers_do_not_reveal_whether_an_account_exists(world: World, peers: list[Peer], mailbox: Mailbox) -> None:
    client = world.client()
    peer = anonymous(world, peers)
    stranger = email()
    answers = [
        peer.call("verify_start", {"personal_id": client["personal_id"], "email": client["email"]}),
        peer.call("verify_start", {"personal_id": client["personal_id"], "email": stranger}),
        peer.call("verify_start", {"personal_id": "C-NOSUCH99", "email": client["email"]}),
        peer.call("verify_start", {"personal_id": "C-NOSUCH99", "email": email()}),
    ]
    assert all(answer == answers[0] for answer in answers), answers
    # Registering an email that has an account answers like registering a new one.
    assert peer.call("register", {"email": client["email"], "name": "Someone"}) == \
        peer.call("register", {"email": email(), "name": "Someone"})
    # A wrong code reads the same for an email with an account and one without.
    exists = mailbox.wait(client["email"], count=2)
    wrong = "000000" if exists.code() != "000000" else "000001"
    for_account = peer.call("verify_code", {"email": client["email"], "code": wrong})
    for_nobody = peer.call("verify_code", {"email": stranger, "code": wrong})
    assert for_account == for_nobody and for_account["error"]["code"] == "invalid_code", (for_account, for_nobody)
    # The account holder learns of the registration attempt by mail, with a sign-in code instead.
    assert client["personal_id"] in exists.body and "already" in exists.subject
    # Nothing was sent to the address that matched no account.
    assert mailbox.to(stranger) == []


def test_registration_issues_the_personal_id_after_verification(world: World, peers: list[Peer],
                                                                 mailbox: Mailbox) -> None:
    peer, ack, address = register(world, peers, mailbox, company="Acme Hosting GmbH")
    assert ack["ok"], ack
    personal_id = ack["identity"]["personal_id"]
    assert re.fullmatch(r"C-[2-9A-Z]{8}", personal_id)
    welcome = mailbox.wait(address, count=2)
    assert personal_id in welcome.body
    client = client_by_pid(world, personal_id)
    assert client["email"] == address and client["email_verified"] and client["status"] == "active"
    assert peer.call("message", {"client_id": "first", "text": "Hi, I just registered."})["ok"]
    assert audit(world, personal_id)[:2] == ["identity.registered", "identity.verified"]


# --- host-site tokens ------------------------------------------------------------------------------------------


def test_rotating_keys_are_chosen_by_kid(world: World, peers: list[Peer]) -> None:
    client = world.client()
    for kid, secret in KEYS.items():
        token = identity_token(client["personal_id"], client["email"], secret=secret, kid=kid)
        peer = Peer(world.url, "/visitor").connect({"identity": token})
        peers.append(peer)
        assert peer.call("history")["ok"]
    crossed = identity_token(client["personal_id"], client["email"], secret=KEYS["k2"], kid="k1")
    assert connect_error(world.url, "/visitor", {"identity": crossed})["code"] == "invalid_identity"
    unknown = identity_token(client["personal_id"], client["email"], secret=KEYS["k1"], kid="k3")
    assert connect_error(world.url, "/visitor", {"identity": unknown})["code"] == "unknown_key"
    # IDENTITY_SECRET still works as one key, with or without kid "default".
    legacy = identity_token(client["personal_id"], client["email"], secret=IDENTITY_SECRET, kid="default")
    peer = Peer(world.url, "/visitor").connect({"identity": legacy})
    peers.append(peer)
    assert peer.call("history")["ok"]


# --- duplicates -------------------------------------------------------------------------------------------------


def test_a_second_account_from_the_same_device_is_suspended_and_flagged(world: World, peers: list[Peer],
                                                                        mailbox: Mailbox) -> None:
    shared = device()
    first_peer, first, _ = register(world, peers, mailbox, device_id=shared)
    assert first["ok"]
    _, second, second_email = register(world, peers, mailbox, device_id=shared)
    assert second["ok"] is False and second["error"]["code"] == "suspended"
    assert "email change" in second["error"]["message"]
    flags = world.admin.ok("GET", "/api/admin/identity/flags")["flags"]
    flag = next(f for f in flags if f["client"]["email"] == second_email)
    assert flag["existing_client"]["personal_id"] == first["identity"]["personal_id"]
    assert flag["reason"] == "duplicate_identity" and flag["evidence"]["device"] is True and flag["status"] == "open"
    assert flag["client"]["status"] == "suspended"
    # The existing account keeps working.
    assert first_peer.call("message", {"client_id": "still-works", "text": "Hello again."})["ok"]
    # The suspended one cannot sign in again, whatever the way in.
    peer = anonymous(world, peers)
    assert peer.call("verify_start", {"personal_id": flag["client"]["personal_id"], "email": second_email})["ok"]
    code = mailbox.wait(second_email, count=2).code()
    again = peer.call("verify_code", {"email": second_email, "code": code})
    assert again["ok"] is False and again["error"]["code"] == "suspended"
    token = identity_token(flag["client"]["personal_id"], second_email)
    assert connect_error(world.url, "/visitor", {"identity": token})["code"] == "suspended"
    actions = audit(world, flag["client"]["personal_id"])
    assert "identity.duplicate_suspended" in actions
    assert "identity.flagged" in audit(world, flag["existing_client"]["personal_id"])


def test_the_same_name_and_company_from_another_device_is_a_duplicate(world: World, peers: list[Peer],
                                                                       mailbox: Mailbox) -> None:
    name = f"Jürgen {unique('n')}"
    _, first, _ = register(world, peers, mailbox, name=name, company="Müller Webdesign GmbH")
    assert first["ok"]
    _, second, second_email = register(world, peers, mailbox, name=f"  {name.upper()} ",
                                       company="Muller Webdesign")
    assert second["ok"] is False and second["error"]["code"] == "suspended"
    flag = next(f for f in world.admin.ok("GET", "/api/admin/identity/flags")["flags"]
                if f["client"]["email"] == second_email)
    assert flag["evidence"] == {"name_company": True, "via": "register"}


def test_admins_review_flags_and_every_decision_is_audited(world: World, peers: list[Peer], mailbox: Mailbox) -> None:
    decided = {}
    for decision in ("lift", "keep", "merge"):
        shared = device()
        _, first, _ = register(world, peers, mailbox, device_id=shared)
        _, _, second_email = register(world, peers, mailbox, device_id=shared)
        flag = next(f for f in world.admin.ok("GET", "/api/admin/identity/flags")["flags"]
                    if f["client"]["email"] == second_email)
        agent = world.agent(languages=["en"])
        refused = Api(world.url, agent["token"]).request("POST", f"/api/admin/identity/flags/{flag['id']}/decision",
                                                         {"decision": decision})
        assert refused.status_code == 403
        result = world.admin.ok("POST", f"/api/admin/identity/flags/{flag['id']}/decision", {"decision": decision})
        decided[decision] = result["flag"]
        # Decided once only.
        twice = world.admin.request("POST", f"/api/admin/identity/flags/{flag['id']}/decision", {"decision": "lift"})
        assert twice.status_code == 409
        assert f"identity.flag_{decision}" in audit(world, flag["client"]["personal_id"])
    assert decided["lift"]["status"] == "lifted" and decided["lift"]["client"]["status"] == "active"
    assert decided["keep"]["status"] == "kept" and decided["keep"]["client"]["status"] == "suspended"
    assert decided["merge"]["status"] == "merged" and decided["merge"]["client"]["status"] == "merged"
    # A lifted account signs in; a kept one still cannot.
    lifted = decided["lift"]["client"]
    peer = Peer(world.url, "/visitor").connect({"identity": identity_token(lifted["personal_id"], lifted["email"])})
    peers.append(peer)
    assert peer.call("history")["ok"]
    kept = decided["keep"]["client"]
    assert connect_error(world.url, "/visitor",
                         {"identity": identity_token(kept["personal_id"], kept["email"])})["code"] == "suspended"
    assert world.admin.ok("GET", "/api/admin/identity/flags?status=all")["flags"]
    assert world.admin.request("POST", "/api/admin/identity/flags/1/decision", {"decision": "nuke"}).status_code == 400


# --- email change -------------------------------------------------------------------------------------------------


def test_email_change_from_the_account(world: World, peers: list[Peer], mailbox: Mailbox) -> None:
    client = world.client()
    old_token = client["identity"]
    peer = Peer(world.url, "/visitor").connect({"identity": old_token})
    peers.append(peer)
    session = peer.wait_for("identity")["session"]
    new_email = email()
    asked = peer.call("email_change", {"new_email": new_email})
    assert asked["ok"] and asked["email_change"]["status"] == "pending"
    code = mailbox.wait(new_email).code()
    assert peer.call("email_change_confirm", {"code": "000000" if code != "000000" else "111111"})["error"]["code"] \
        == "invalid_code"
    confirmed = peer.call("email_change_confirm", {"code": code})
    assert confirmed["ok"] and confirmed["email_change"]["status"] == "awaiting_approval"
    assert client_by_pid(world, client["personal_id"])["email"] == client["email"]  # not before an agent approves
    agent = Api(world.url, world.agent(languages=["en"])["token"])
    waiting = agent.ok("GET", "/api/email-changes")["email_changes"]
    change = next(c for c in waiting if c["personal_id"] == client["personal_id"])
    assert change["new_email"] == new_email and change["via"] == "account"
    approved = agent.ok("POST", f"/api/email-changes/{change['id']}/approve")["email_change"]
    assert approved["status"] == "completed"
    assert client_by_pid(world, client["personal_id"])["email"] == new_email
    notice = mailbox.wait(client["email"])
    assert new_email in notice.body
    # The open socket is ended; tokens and sessions for the old email stop working.
    assert peer.wait_for("revoked")["code"] == "email_changed"
    stale = identity_token(client["personal_id"], client["email"])
    assert connect_error(world.url, "/visitor", {"identity": stale})["code"] == "email_mismatch"
    assert connect_error(world.url, "/visitor", {"session": session})["code"] == "session_revoked"
    fresh = Peer(world.url, "/visitor").connect({"identity": identity_token(client["personal_id"], new_email)})
    peers.append(fresh)
    assert fresh.call("history")["ok"]
    assert audit(world, client["personal_id"])[-3:] == [
        "email_change.requested", "email_change.new_confirmed", "email_change.completed"]


def test_email_change_from_the_old_address(world: World, mailbox: Mailbox) -> None:
    client = world.client()
    new_email = email()
    unsigned = requests.post(world.url + "/api/inbound/email", json={"from": client["email"], "text": new_email},
                             timeout=10)
    assert unsigned.status_code == 401
    assert inbound(world, {"from": client["email"], "text": new_email}, secret="wrong").status_code == 401
    response = inbound(world, {"from": f"Client <{client['email'].upper()}>", "subject": "New email",
                               "text": f"Hello, please change my email to {new_email}.\nThanks"})
    assert response.status_code == 202 and response.json() == {"status": "accepted"}
    link = mailbox.wait(client["email"]).link()
    to_new = mailbox.wait(new_email)
    code, page_url = to_new.code(), to_new.link()
    # The new address enters its code on the page its email links to; that alone changes nothing.
    form = requests.get(page_url, timeout=10)
    assert form.status_code == 200 and f'value="{new_email}"' in form.text
    wrong = requests.post(world.url + "/email-change/verify", data={"email": new_email, "code": "12345x"}, timeout=10)
    assert wrong.status_code == 400 and 'id="error"' in wrong.text
    verified = requests.post(world.url + "/email-change/verify", data={"email": new_email, "code": code}, timeout=10)
    assert verified.status_code == 200 and "other address has confirmed" in verified.text
    assert client_by_pid(world, client["personal_id"])["email"] == client["email"]
    # Opening the link only shows a button (mail scanners open links).
    page = requests.get(link, timeout=10)
    assert page.status_code == 200 and 'id="confirm"' in page.text
    assert client_by_pid(world, client["personal_id"])["email"] == client["email"]
    token = link.split("token=")[1]
    done = requests.post(world.url + "/email-change/confirm", data={"token": token}, timeout=10)
    assert done.status_code == 200 and "now changed" in done.text
    assert client_by_pid(world, client["personal_id"])["email"] == new_email
    assert new_email in mailbox.wait(client["email"], count=2).body
    assert requests.post(world.url + "/email-change/confirm", data={"token": token}, timeout=10).status_code == 404
    actions = audit(world, client["personal_id"])
    assert actions[-4:] == ["email_change.requested", "email_change.new_confirmed", "email_change.old_confirmed",
                            "email_change.completed"]


def test_a_forged_from_changes_nothing(world: World, mailbox: Mailbox) -> None:
    victim = world.client()
    attacker = email()
    response = inbound(world, {"from": victim["email"], "subject": "urgent", "text": f"my new email is {attacker}"})
    assert response.status_code == 202
    # The attacker holds the new address, so gets its code and enters it ...
    code = mailbox.wait(attacker).code()
    entered = requests.post(world.url + "/api/email-change/verify", json={"email": attacker, "code": code}, timeout=10)
    assert entered.json()["email_change"]["status"] == "pending"
    # ... but the confirmation link went to the real owner, and guessing it fails.
    assert mailbox.wait(victim["email"]).body.count("token=") == 1
    guessed = requests.post(world.url + "/api/email-change/confirm-old", json={"token": "x" * 43}, timeout=10)
    assert guessed.status_code == 404 and guessed.json()["error"]["code"] == "invalid_link"
    assert client_by_pid(world, victim["personal_id"])["email"] == victim["email"]
    # A From that is no client's address is accepted with the same answer and mails no one.
    stranger = email()
    before = len(mailbox.messages)
    quiet = inbound(world, {"from": stranger, "text": f"change to {email()}"})
    assert quiet.status_code == 202 and quiet.json() == response.json()
    time.sleep(0.5)
    assert len(mailbox.messages) == before


def test_the_outbox_keeps_every_mail_for_admins(world: World, mailbox: Mailbox) -> None:
    mail = world.admin.ok("GET", "/api/admin/outbox")["mail"]
    assert mail and all(item["status"] in ("sent", "pending") for item in mail)
    assert {"sign_in_code", "register_code", "email_change_code"} <= {item["template"] for item in mail}
    agent = world.agent(languages=["en"])
    assert Api(world.url, agent["token"]).request("GET", "/api/admin/outbox").status_code == 403


# --- caution -------------------------------------------------------------------------------------------------------


def test_agents_are_cautioned_about_recently_verified_accounts(world: World, peers: list[Peer],
                                                                mailbox: Mailbox) -> None:
    agent = world.agent(languages=["en"])
    agent_peer = world.agent_peer(agent)
    peers.append(agent_peer)
    visitor, ack, _ = register(world, peers, mailbox)
    posted = visitor.call("message", {"client_id": "c1", "text": "Hello, please send me the server password."})
    assert posted["ok"], posted
    conversation_id = posted["message"]["conversation_id"]
    queued = agent_peer.latest("queue", lambda q: any(c["id"] == conversation_id for c in q.get("conversations", [])))
    entry = next(c for c in queued["conversations"] if c["id"] == conversation_id)
    assert entry["caution"]["reasons"] == ["recently_verified"]
    accepted = agent_peer.call("accept", {"conversation_id": conversation_id})
    assert accepted["ok"], accepted
    assert accepted["conversation"]["caution"]["reasons"] == ["recently_verified"]
    # An account admins created (and the host site vouches for) carries no caution.
    old_client, old_peer = world.client(), None
    old_peer = world.visitor(old_client)
    peers.append(old_peer)
    other = old_peer.call("message", {"client_id": "c2", "text": "Hello, a question about my invoice."})
    accepted = agent_peer.call("accept", {"conversation_id": other["message"]["conversation_id"]})
    assert accepted["ok"] and accepted["conversation"]["caution"] is None


# --- limits: a server of its own, with small limits and short codes -------------------------------------------------


@pytest.fixture(scope="module")
def strict(stack, tmp_path_factory, mailbox: Mailbox) -> Iterator[World]:
    env = {"SMTP_URL": mailbox.url, "IDENTITY_CODE_TTL": "2", "IDENTITY_CODE_RATE_EMAIL": "2",
           "IDENTITY_CODE_RATE_DEVICE": "3", "IDENTITY_CODE_RATE_IP": "8",
           # Keys by kid only: no IDENTITY_SECRET, so every token must name its key.
           "IDENTITY_SECRET": "", "IDENTITY_KEYS": f"only:{ONLY_KEY}"}
    # Its own Redis prefix (and SQLite file): the main server's tests do not count against these limits.
    own = Stack(stack.name, stack.database_url.replace(".sqlite3", "-strict.sqlite3") if stack.name == "embedded"
                else stack.database_url, stack.redis_url)
    with running_world(own, str(tmp_path_factory.mktemp("logs")), extra_env=env, name="strict") as started:
        yield started


def test_codes_expire_and_requests_are_rate_limited(strict: World, peers: list[Peer], mailbox: Mailbox) -> None:
    client = strict.client()
    a, b, c = anonymous(strict, peers), anonymous(strict, peers), anonymous(strict, peers)
    start = {"personal_id": client["personal_id"], "email": client["email"]}
    assert a.call("verify_start", start)["ok"]  # 1 from this IP
    code = mailbox.wait(client["email"]).code()
    time.sleep(2.5)
    expired = a.call("verify_code", {"email": client["email"], "code": code})
    assert expired["ok"] is False and expired["error"]["code"] == "code_expired"
    # Per email: the second request is allowed, the third refused, whichever device asks.
    assert a.call("verify_start", start)["ok"]  # 2
    limited = b.call("verify_start", start)  # 3
    assert limited["ok"] is False and limited["error"]["code"] == "rate_limited"
    # The same refusal for an email without an account: the limit says nothing about existence.
    nobody = {"personal_id": "C-NOSUCH99", "email": email()}
    assert b.call("verify_start", nobody)["ok"] and b.call("verify_start", nobody)["ok"]  # 4, 5
    assert c.call("verify_start", nobody) == limited  # 6
    # Per device: b made three requests, so it is refused even for a fresh email.
    assert b.call("register", {"email": email(), "name": "Someone"}) == limited  # 7
    # Per IP: eight requests are allowed from 127.0.0.1 in the hour, then none, from any device.
    assert anonymous(strict, peers).call("register", {"email": email(), "name": "Someone"})["ok"]  # 8
    assert anonymous(strict, peers).call("register", {"email": email(), "name": "Someone"}) == limited  # 9


def test_with_keys_only_every_token_names_its_key(strict: World, peers: list[Peer]) -> None:
    client = strict.client()
    for kid, secret in [(None, ONLY_KEY), ("default", ONLY_KEY), (None, IDENTITY_SECRET)]:
        token = identity_token(client["personal_id"], client["email"], secret=secret, kid=kid)
        assert connect_error(strict.url, "/visitor", {"identity": token})["code"] == "unknown_key", kid
    token = identity_token(client["personal_id"], client["email"], secret=ONLY_KEY, kid="only")
    peer = Peer(strict.url, "/visitor").connect({"identity": token})
    peers.append(peer)
    assert peer.call("history")["ok"]

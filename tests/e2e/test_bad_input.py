"""Bad input, end to end: every malformed event or request is refused with the documented error shape,
stores nothing, leaves no stack trace in the server log, and disturbs nobody else."""
from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import requests

from ..support import Peer, unique
from .conftest import open_agent, open_visitor

MAX_LENGTH = 5000
ENGLISH = "Hello, I cannot log in to my account since this morning. Can you help me?"


# --- helpers (local: tests/support.py is being edited elsewhere) ------------------------------------


def cid() -> str:
    return str(uuid.uuid4())


def assert_error(ack: Any, codes: str | set[str], context: Any = None) -> None:
    """Assert ack is {ok: false, error: {code, message}} with one of codes."""
    codes = {codes} if isinstance(codes, str) else codes
    assert isinstance(ack, dict), (context, ack)
    assert ack.get("ok") is False and set(ack) == {"ok", "error"}, (context, ack)
    error = ack["error"]
    assert set(error) == {"code", "message"}, (context, ack)
    assert error["code"] in codes, (context, ack)
    assert isinstance(error["message"], str) and error["message"], (context, ack)


def assert_rest_error(response: requests.Response, status: int | set[int], codes: str | set[str], context: Any = None) -> None:
    statuses = {status} if isinstance(status, int) else status
    codes = {codes} if isinstance(codes, str) else codes
    assert response.status_code in statuses, (context, response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, (context, body)
    assert body["error"]["code"] in codes, (context, body)
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], (context, body)


def report(failures: list[Any]) -> str:
    """Spell out every failure (pytest would elide the middle of a long list)."""
    return f"{len(failures)} unexpected result(s):\n" + "\n".join(repr(failure)[:1500] for failure in failures)


def rest_mismatch(response: requests.Response, status: int, code: str, context: Any) -> dict | None:
    """Return a description of how response differs from the error (status, code), or None."""
    try:
        body = response.json()
    except ValueError:
        body = response.text
    good = (response.status_code == status and isinstance(body, dict) and set(body) == {"error"}
            and isinstance(body["error"], dict) and body["error"].get("code") == code
            and isinstance(body["error"].get("message"), str))
    return None if good else {"request": context, "expected": (status, code), "got": (response.status_code, body)}


def log_mark(world) -> int:
    return len(world.server.read_log())


def assert_no_new_traceback(world, mark: int) -> None:
    """The server logged no stack trace since mark."""
    time.sleep(0.1)
    new = world.server.read_log()[mark:]
    assert "Traceback" not in new, new[max(0, new.index("Traceback") - 300):][:4000]


def check_all(peer: Peer, event: str, cases: list[tuple[Any, str | set[str]]]) -> list[Any]:
    """Send every (payload, expected codes) case; return a list of the mismatches."""
    failures = []
    for payload, codes in cases:
        expected = {codes} if isinstance(codes, str) else codes
        ack = peer.call(event, payload)
        good = (isinstance(ack, dict) and ack.get("ok") is False and isinstance(ack.get("error"), dict)
                and ack["error"].get("code") in expected and isinstance(ack["error"].get("message"), str)
                and set(ack) == {"ok", "error"})
        if not good:
            failures.append({"event": event, "payload": repr(payload)[:80], "expected": sorted(expected), "got": ack})
    return failures


def set_panel(world, codes: list[str]) -> None:
    world.admin.ok("PUT", "/api/admin/languages", {"languages": codes})




def post(peer: Peer, text: str = ENGLISH, **extra: Any) -> dict:
    ack = peer.call("message", {"client_id": cid(), "text": text, **extra})
    assert ack["ok"], ack
    return ack["message"]


def admin_request(world, method: str, path: str, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {world.admin.token}", **kwargs.pop("headers", {})}
    return requests.request(method, world.url + path, headers=headers, timeout=10, **kwargs)


def bad_visitor_messages() -> list[tuple[Any, str | set[str]]]:
    """Payloads for the visitor's `message` event that must be refused, with the expected code."""
    return [
        ("Hello, I need help", "invalid"),                       # a string, not an object
        (["Hello, I need help"], "invalid"),                     # a list
        (42, "invalid"),                                         # a number
        (3.5, "invalid"),
        (True, "invalid"),
        (None, "invalid"),                                       # no payload: text is missing
        ({}, "invalid"),
        (({"client_id": cid(), "text": ENGLISH}, {"extra": 1}), "invalid"),  # two arguments
        ({"client_id": cid()}, "invalid"),                       # text missing
        ({"text": ENGLISH}, "invalid"),                          # client_id missing
        ({"client_id": cid(), "text": 12345}, "invalid"),        # text as int
        ({"client_id": cid(), "text": ["Hello"]}, "invalid"),
        ({"client_id": cid(), "text": {"text": "Hello"}}, "invalid"),
        ({"client_id": cid(), "text": None}, "invalid"),
        ({"client_id": {"id": "x"}, "text": ENGLISH}, "invalid"),  # client_id as dict
        ({"client_id": 7, "text": ENGLISH}, "invalid"),
        ({"client_id": ["x"], "text": ENGLISH}, "invalid"),
        ({"client_id": "", "text": ENGLISH}, "invalid"),
        ({"client_id": "x" * 65, "text": ENGLISH}, "invalid"),
        ({"client_id": cid(), "text": ""}, "invalid"),
        ({"client_id": cid(), "text": "   "}, "invalid"),
        ({"client_id": cid(), "text": " \n\t \r\n "}, "invalid"),
        ({"client_id": cid(), "text": "x" * (MAX_LENGTH + 1)}, "too_long"),
        ({"client_id": cid(), "text": ENGLISH[:20] * 400}, "too_long"),
        ({"client_id": cid(), "text": ENGLISH, "team": "sales"}, "invalid"),  # unknown team
        ({"client_id": cid(), "text": ENGLISH, "team": "Support"}, "invalid"),
        ({"client_id": cid(), "text": ENGLISH, "team": 5}, "invalid"),
        ({"client_id": cid(), "text": ENGLISH, "team": ["support"]}, "invalid"),
    ]


# --- /visitor `message` -----------------------------------------------------------------------------


def test_visitor_bad_messages_before_any_conversation_store_nothing(world, peers: list[Peer]) -> None:
    set_panel(world, ["en", "de", "es"])
    _, visitor = open_visitor(world, peers)
    failures = check_all(visitor, "message", bad_visitor_messages())
    assert not failures, report(failures)
    # Nothing was opened: no conversation, no message, and no event reached the visitor.
    assert visitor.call("history") == {"ok": True, "conversation": None, "messages": []}
    assert [name for name, _ in visitor.events if name in ("message", "conversation")] == []


def test_visitor_bad_messages_in_an_open_conversation_store_nothing(world, peers: list[Peer]) -> None:
    set_panel(world, ["en", "de", "es"])
    _, visitor = open_visitor(world, peers)
    first = post(visitor)
    failures = check_all(visitor, "message", bad_visitor_messages())
    assert not failures, report(failures)
    history = visitor.call("history")
    assert history["ok"], history
    assert [m["id"] for m in history["messages"]] == [first["id"]]
    assert history["conversation"]["id"] == first["conversation_id"]
    assert history["conversation"]["team"] == "support"  # an unknown team changed nothing


def test_visitor_text_of_exactly_the_limit_is_accepted(world, peers: list[Peer]) -> None:
    set_panel(world, ["en", "de", "es"])
    _, visitor = open_visitor(world, peers)
    exact = (ENGLISH + " ") * (MAX_LENGTH // len(ENGLISH) + 1)
    exact = exact[:MAX_LENGTH - 1] + "!"
    assert len(exact) == MAX_LENGTH
    ack = visitor.call("message", {"client_id": cid(), "text": exact})
    assert ack["ok"], ack
    assert ack["message"]["text"] == exact and ack["duplicate"] is False
    over = visitor.call("message", {"client_id": cid(), "text": exact + "!"})
    assert_error(over, "too_long")
    history = visitor.call("history")
    assert [m["text"] for m in history["messages"]] == [exact]
    # Characters, not bytes: 5000 non-ASCII characters are within the limit too.
    _, other = open_visitor(world, peers)
    wide = ("Grüße aus München, äöü ß. " * 200)[:MAX_LENGTH]
    assert len(wide) == MAX_LENGTH and len(wide.encode()) > MAX_LENGTH
    ack = other.call("message", {"client_id": cid(), "text": wide})
    assert ack["ok"], ack


def test_visitor_unknown_team_opens_no_conversation_and_known_team_is_kept(world, peers: list[Peer]) -> None:
    set_panel(world, ["en", "de", "es"])
    _, visitor = open_visitor(world, peers)
    assert_error(visitor.call("message", {"client_id": cid(), "text": ENGLISH, "team": "billing"}), "invalid")
    assert visitor.call("history")["conversation"] is None
    ack = visitor.call("message", {"client_id": cid(), "text": ENGLISH, "team": "technical"})
    assert ack["ok"], ack
    assert visitor.call("history")["conversation"]["team"] == "technical"


def test_visitor_text_with_nul_or_lone_surrogate_is_never_an_internal_error(world, peers: list[Peer]) -> None:
    """Strings that JSON allows but databases may not: refused as invalid or stored, never a crash."""
    set_panel(world, ["en", "de", "es"])
    mark = log_mark(world)
    cases = [
        {"client_id": cid(), "text": "Hello\x00 I need help with my invoice"},
        {"client_id": "id\x00" + unique(), "text": ENGLISH},
        {"client_id": cid(), "text": "Hello \ud800 I need help with my invoice"},
        {"client_id": "id\udfff" + unique(), "text": ENGLISH},
    ]
    results = []
    for payload in cases:
        _, visitor = open_visitor(world, peers)
        ack = visitor.call("message", payload)
        ok = isinstance(ack, dict) and (ack.get("ok") is True or (ack.get("error") or {}).get("code") == "invalid")
        if not ok:
            results.append({"payload": repr(payload), "got": ack})
        elif ack["ok"] is False:
            assert visitor.call("history")["conversation"] is None, payload
    assert not results, report(results)
    assert_no_new_traceback(world, mark)


# --- unknown events -----------------------------------------------------------------------------------


def test_unknown_events_are_answered_with_unknown_event(world, peers: list[Peer]) -> None:
    set_panel(world, ["en", "de", "es"])
    _, visitor = open_visitor(world, peers)
    _, agent = open_agent(world, peers, languages=["en"])
    failures = []
    for name in ("nonsense", "accept", "status", "close", "queue", "Message", "message ", "on_message",
                 "__init__", "trigger_event", "identity", "x" * 300):
        failures += check_all(visitor, name, [({}, "unknown_event"), (None, "unknown_event")])
    for name in ("nonsense", "request_human", "Accept", "on_accept", "remember", "local_connections"):
        failures += check_all(agent, name, [({}, "unknown_event"), ("text", "unknown_event")])
    assert not failures, report(failures)
    # Both sockets still work.
    assert visitor.call("history")["ok"]
    assert agent.call("queue")["ok"]


def test_client_sent_connect_and_disconnect_events_change_nothing(world, peers: list[Peer]) -> None:
    """`connect`/`disconnect` are lifecycle events: a client emitting them as ordinary events must neither
    drop an agent's presence while its socket stays open, nor re-run the visitor's connect handler
    (re-authenticating the socket as someone else, or crashing with a stack trace)."""
    set_panel(world, ["en", "de", "es"])
    mark = log_mark(world)
    problems = []
    agent, agent_peer = open_agent(world, peers, languages=["en"])
    _, visitor = open_visitor(world, peers)
    message = post(visitor)

    agent_peer.client.emit("disconnect", {}, namespace="/agent")
    agent_peer.client.emit("disconnect", namespace="/agent")
    time.sleep(0.3)
    queue = agent_peer.call("queue")
    if queue.get("status") != "online":
        problems.append(("agent emitted 'disconnect': status should stay online", queue.get("status")))
    accepted = agent_peer.call("accept", {"conversation_id": message["conversation_id"]})
    if not accepted.get("ok"):
        problems.append(("agent emitted 'disconnect': accept should still work", accepted))

    # A second client with its own conversation.
    other, other_peer = open_visitor(world, peers)
    other_message = post(other_peer, "Hi, my invoice for last month shows the wrong amount.")
    # One argument (auth is then read as missing) and two (the second is taken as auth).
    visitor.client.emit("connect", {"identity": "garbage"}, namespace="/visitor")
    visitor.client.emit("connect", ({}, {"identity": other["identity"]}), namespace="/visitor")
    time.sleep(0.3)
    history = visitor.call("history")
    if (history.get("conversation") or {}).get("id") != message["conversation_id"]:
        problems.append(("visitor emitted 'connect': the socket must keep its own identity",
                         {"own": message["conversation_id"], "other": other_message["conversation_id"],
                          "history_shows": (history.get("conversation") or {}).get("id")}))
    new_log = world.server.read_log()[mark:]
    if "Traceback" in new_log:
        problems.append(("stack trace in the server log", new_log[new_log.index("Traceback"):][:1500]))
    assert not problems, report(problems)


# --- /agent `accept`, `message`, `close`, `status`, `history` -------------------------------------------


def bad_conversation_ids(real_id: int) -> list[tuple[Any, str | set[str]]]:
    return [
        (str(real_id), "invalid"),                                # a string payload
        ([real_id], "invalid"),
        (real_id, "invalid"),                                     # a bare number
        (None, "invalid"),                                        # no payload
        ({}, "invalid"),
        ({"id": real_id}, "invalid"),
        ({"conversation_id": str(real_id)}, "invalid"),           # "1" as a string
        ({"conversation_id": True}, "invalid"),                   # bool, although True == 1
        ({"conversation_id": False}, "invalid"),
        ({"conversation_id": -real_id}, "invalid"),
        ({"conversation_id": 0}, "invalid"),
        ({"conversation_id": float(real_id)}, "invalid"),
        ({"conversation_id": real_id + 0.5}, "invalid"),
        ({"conversation_id": None}, "invalid"),
        ({"conversation_id": [real_id]}, "invalid"),
        ({"conversation_id": {"id": real_id}}, "invalid"),
        (({"conversation_id": real_id}, {"conversation_id": real_id}), "invalid"),  # two arguments
    ]


def test_agent_accept_rejects_bad_payloads_and_leaves_the_conversation_queued(world, peers: list[Peer]) -> None:
    set_panel(world, ["en", "de", "es"])
    _, agent = open_agent(world, peers, languages=["en"])
    _, visitor = open_visitor(world, peers)
    conversation_id = post(visitor)["conversation_id"]

    failures = check_all(agent, "accept", bad_conversation_ids(conversation_id))
    failures += check_all(agent, "accept", [({"conversation_id": 10**9}, "not_found")])
    assert not failures, report(failures)
    # Still waiting, still in the agent's queue, and the agent carries no load.
    assert visitor.call("history")["conversation"]["state"] == "queued"
    queue = agent.call("queue")
    assert conversation_id in [c["id"] for c in queue["conversations"]] and queue["load"] == 0, queue
    accepted = agent.call("accept", {"conversation_id": conversation_id})
    assert accepted["ok"] and accepted["conversation"]["state"] == "active", accepted


def test_agent_message_rejects_bad_payloads_and_stores_nothing(world, peers: list[Peer]) -> None:
    set_panel(world, ["en", "de", "es"])
    _, agent = open_agent(world, peers, languages=["en"])
    _, visitor = open_visitor(world, peers)
    first = post(visitor)
    conversation_id = first["conversation_id"]
    assert agent.call("accept", {"conversation_id": conversation_id})["ok"]

    good = {"conversation_id": conversation_id, "client_id": cid(), "text": "Let me check that for you."}
    cases: list[tuple[Any, str | set[str]]] = [
        ("Let me check", "invalid"), (["Let me check"], "invalid"), (7, "invalid"), (None, "invalid"), ({}, "invalid"),
        ((good, good), "invalid"),
    ]
    for payload, code in bad_conversation_ids(conversation_id):
        if isinstance(payload, dict) and "conversation_id" in payload:
            cases.append(({**good, "client_id": cid(), "conversation_id": payload["conversation_id"]}, code))
    cases += [
        ({"client_id": cid(), "text": "Hi"}, "invalid"),                               # conversation_id missing
        ({"conversation_id": conversation_id, "text": "Hi"}, "invalid"),               # client_id missing
        ({"conversation_id": conversation_id, "client_id": cid()}, "invalid"),         # text missing
        ({**good, "client_id": {"a": 1}}, "invalid"),
        ({**good, "client_id": 5}, "invalid"),
        ({**good, "client_id": ""}, "invalid"),
        ({**good, "client_id": "y" * 65}, "invalid"),
        ({**good, "client_id": cid(), "text": 5}, "invalid"),
        ({**good, "client_id": cid(), "text": None}, "invalid"),
        ({**good, "client_id": cid(), "text": ["Hi"]}, "invalid"),
        ({**good, "client_id": cid(), "text": ""}, "invalid"),
        ({**good, "client_id": cid(), "text": "  \n\t "}, "invalid"),
        ({**good, "client_id": cid(), "text": "z" * (MAX_LENGTH + 1)}, "too_long"),
        ({**good, "client_id": cid(), "conversation_id": 10**9}, "not_found"),
    ]
    failures = check_all(agent, "message", cases)
    assert not failures, report(failures)

    history = agent.call("history", {"conversation_id": conversation_id})
    assert [m["id"] for m in history["messages"]] == [first["id"]], history["messages"]
    time.sleep(0.2)
    assert [d for name, d in visitor.events if name == "message" and d["sender"] == "agent"] == []

    exact = ("Let me check that for you. " * 200)[:MAX_LENGTH]
    ack = agent.call("message", {**good, "text": exact})
    assert ack["ok"], ack
    assert visitor.wait_for("message", lambda m: m["sender"] == "agent")["text"] == exact


def test_agent_close_and_history_reject_bad_payloads(world, peers: list[Peer]) -> None:
    set_panel(world, ["en", "de", "es"])
    _, agent = open_agent(world, peers, languages=["en"])
    _, visitor = open_visitor(world, peers)
    conversation_id = post(visitor)["conversation_id"]
    assert agent.call("accept", {"conversation_id": conversation_id})["ok"]

    failures = check_all(agent, "close", bad_conversation_ids(conversation_id) + [({"conversation_id": 10**9}, "not_found")])
    failures += check_all(agent, "history", bad_conversation_ids(conversation_id) + [({"conversation_id": 10**9}, "not_found")])
    assert not failures, report(failures)
    assert visitor.call("history")["conversation"]["state"] == "active"
    assert agent.call("queue")["load"] == 1
    time.sleep(0.2)
    assert not [d for name, d in visitor.events if name == "conversation" and d["state"] == "closed"]
    closed = agent.call("close", {"conversation_id": conversation_id})
    assert closed["ok"] and closed["conversation"]["state"] == "closed", closed


def test_agent_status_rejects_bad_values_and_keeps_the_status(world, peers: list[Peer]) -> None:
    set_panel(world, ["en", "de", "es"])
    _, agent = open_agent(world, peers, languages=["en"])
    cases: list[tuple[Any, str | set[str]]] = [
        ("online", "invalid"), (["away"], "invalid"), (1, "invalid"), (None, "invalid"), ({}, "invalid"),
        ({"status": None}, "invalid"), ({"status": "busy"}, "invalid"), ({"status": "Away"}, "invalid"),
        ({"status": " away"}, "invalid"), ({"status": 1}, "invalid"), ({"status": True}, "invalid"),
        ({"status": ["away"]}, "invalid"), ({"status": {"away": True}}, "invalid"), ({"state": "away"}, "invalid"),
        (({"status": "away"}, {"status": "away"}), "invalid"),
    ]
    failures = check_all(agent, "status", cases)
    assert not failures, report(failures)
    assert agent.call("queue")["status"] == "online"
    assert agent.call("status", {"status": "away"}) == {"ok": True, "status": "away"}
    failures = check_all(agent, "status", cases)
    assert not failures, report(failures)
    assert agent.call("queue")["status"] == "away"


def test_huge_conversation_ids_are_refused_not_internal_errors(world, peers: list[Peer]) -> None:
    """Ids beyond the database's integer range are simply no such conversation (or invalid)."""
    set_panel(world, ["en", "de", "es"])
    mark = log_mark(world)
    _, agent = open_agent(world, peers, languages=["en"])
    failures = []
    for big in (2**31, 2**53 + 1, 2**63, 10**30):
        failures += check_all(agent, "accept", [({"conversation_id": big}, {"invalid", "not_found"})])
        failures += check_all(agent, "history", [({"conversation_id": big}, {"invalid", "not_found"})])
        failures += check_all(agent, "close", [({"conversation_id": big}, {"invalid", "not_found"})])
        failures += check_all(agent, "message", [({"conversation_id": big, "client_id": cid(), "text": "Hi there"},
                                                  {"invalid", "not_found"})])
    assert not failures, report(failures)
    assert agent.call("queue")["load"] == 0
    assert_no_new_traceback(world, mark)


# --- a flood of bad input disturbs nobody ---------------------------------------------------------------


def test_a_flood_of_bad_input_does_not_disturb_other_sockets(world, peers: list[Peer]) -> None:
    set_panel(world, ["en", "de", "es"])
    _, agent = open_agent(world, peers, languages=["en"], capacity=5)
    _, good_visitor = open_visitor(world, peers)
    conversation_id = post(good_visitor)["conversation_id"]
    assert agent.call("accept", {"conversation_id": conversation_id})["ok"]

    _, bad_visitor = open_visitor(world, peers)
    _, bad_agent = open_agent(world, peers, languages=["en"])
    visitor_junk = [("message", p) for p, _ in bad_visitor_messages()] + [("nonsense", {}), ("accept", {"x": 1})]
    agent_junk = [("accept", p) for p, _ in bad_conversation_ids(conversation_id)] + [
        ("message", {"conversation_id": conversation_id, "client_id": cid(), "text": "I am not assigned"}),
        ("close", {"conversation_id": conversation_id}), ("status", {"status": "sleeping"}), ("nonsense", [])]

    acks: list[Any] = []
    done = threading.Event()
    lock = threading.Lock()
    total = 400

    def record(*args: Any) -> None:
        with lock:
            acks.append(args[0] if args else None)
            if len(acks) == total:
                done.set()

    for i in range(total // 2):
        name, payload = visitor_junk[i % len(visitor_junk)]
        bad_visitor.client.emit(name, payload, namespace="/visitor", callback=record)
        name, payload = agent_junk[i % len(agent_junk)]
        bad_agent.client.emit(name, payload, namespace="/agent", callback=record)

    # While the junk is being answered, the real conversation goes on.
    ack = good_visitor.call("message", {"client_id": "after-flood", "text": "Are you still there? It is urgent."})
    assert ack["ok"], ack
    heard = agent.wait_for("message", lambda m: m["client_id"] == "after-flood")
    assert heard["conversation_id"] == conversation_id
    reply = agent.call("message", {"conversation_id": conversation_id, "client_id": "reply-1", "text": "Yes, I am here."})
    assert reply["ok"], reply
    assert good_visitor.wait_for("message", lambda m: m["client_id"] == "reply-1")["text"] == "Yes, I am here."

    assert done.wait(30), f"only {len(acks)} of {total} bad events were answered"
    assert all(isinstance(a, dict) and a.get("ok") is False for a in acks), [a for a in acks if not (isinstance(a, dict) and a.get("ok") is False)][:5]
    assert not any(a["error"]["code"] == "internal" for a in acks)
    # The junk stored nothing in the real conversation, and the bad sockets still work.
    history = agent.call("history", {"conversation_id": conversation_id})
    assert [m["client_id"] for m in history["messages"]][-2:] == ["after-flood", "reply-1"]
    assert [m["sender"] for m in history["messages"]] == ["visitor", "visitor", "agent"]
    assert visitor_history_is_empty(bad_visitor)
    assert post(bad_visitor)["sender"] == "visitor"
    assert bad_agent.call("queue")["ok"]


def visitor_history_is_empty(peer: Peer) -> bool:
    history = peer.call("history")
    return history == {"ok": True, "conversation": None, "messages": []}


# --- REST ---------------------------------------------------------------------------------------------------

BODY_ENDPOINTS = [("POST", "/api/auth/login"), ("PUT", "/api/admin/languages"), ("POST", "/api/admin/agents"),
                  ("POST", "/api/admin/clients")]


def test_rest_rejects_bodies_that_are_not_a_json_object(world) -> None:
    json_type = {"Content-Type": "application/json"}
    bodies = [
        {"data": "not json", "headers": json_type},
        {"data": "{\"languages\": [", "headers": json_type},
        {"data": "", "headers": json_type},
        {"data": "email=a@example.com&password=x", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
        {"json": ["en", "de"]},
        {"json": "en"},
        {"json": 42},
        {"json": None},
        {},
    ]
    mark = log_mark(world)
    failures = [rest_mismatch(admin_request(world, method, path, **body), 400, "invalid", (method, path, body))
                for method, path in BODY_ENDPOINTS for body in bodies]
    failures = [failure for failure in failures if failure]
    assert not failures, report(failures)
    assert_no_new_traceback(world, mark)


def test_rest_missing_and_wrong_typed_fields(world) -> None:
    email = f"{unique('agent')}@example.com"
    agent = {"email": email, "name": "Ana", "password": "agent-password-1"}
    cases = [
        ("POST", "/api/auth/login", {}),
        ("POST", "/api/auth/login", {"email": "admin@example.com"}),
        ("POST", "/api/auth/login", {"password": "admin-password-1"}),
        ("POST", "/api/auth/login", {"email": ["admin@example.com"], "password": "admin-password-1"}),
        ("POST", "/api/auth/login", {"email": "admin@example.com", "password": 12345678}),
        ("PUT", "/api/admin/languages", {}),
        ("PUT", "/api/admin/languages", {"languages": "de"}),
        ("PUT", "/api/admin/languages", {"languages": None}),
        ("PUT", "/api/admin/languages", {"languages": ["de", 1]}),
        ("PUT", "/api/admin/languages", {"languages": {"de": True}}),
        ("POST", "/api/admin/agents", {}),
        ("POST", "/api/admin/agents", {k: v for k, v in agent.items() if k != "email"}),
        ("POST", "/api/admin/agents", {k: v for k, v in agent.items() if k != "name"}),
        ("POST", "/api/admin/agents", {k: v for k, v in agent.items() if k != "password"}),
        ("POST", "/api/admin/agents", {**agent, "email": "not-an-email"}),
        ("POST", "/api/admin/agents", {**agent, "email": 5}),
        ("POST", "/api/admin/agents", {**agent, "name": ""}),
        ("POST", "/api/admin/agents", {**agent, "name": "   "}),
        ("POST", "/api/admin/agents", {**agent, "name": 7}),
        ("POST", "/api/admin/agents", {**agent, "password": "short"}),
        ("POST", "/api/admin/agents", {**agent, "password": 123456789}),
        ("POST", "/api/admin/agents", {**agent, "languages": "en"}),
        ("POST", "/api/admin/agents", {**agent, "languages": ["en", "xx"]}),
        ("POST", "/api/admin/agents", {**agent, "teams": ["sales"]}),
        ("POST", "/api/admin/agents", {**agent, "teams": "support"}),
        ("POST", "/api/admin/agents", {**agent, "role": "root"}),
        ("POST", "/api/admin/clients", {}),
        ("POST", "/api/admin/clients", {"email": f"{unique('client')}@example.com"}),
        ("POST", "/api/admin/clients", {"name": "Jo"}),
        ("POST", "/api/admin/clients", {"email": "nope", "name": "Jo"}),
        ("POST", "/api/admin/clients", {"email": f" {unique('client')}@example.com", "name": "Jo"}),
        ("POST", "/api/admin/clients", {"email": f"{unique('client')}@example.com", "name": ["Jo"]}),
    ]
    failures = [rest_mismatch(admin_request(world, method, path, json=body), 400, "invalid", (method, path, body))
                for method, path, body in cases]
    failures = [failure for failure in failures if failure]
    assert not failures, report(failures)
    # None of those created anything.
    agents = world.admin.ok("GET", "/api/admin/agents")["agents"]
    assert email not in [a["email"] for a in agents]


def test_rest_capacity_must_be_an_integer_from_1_to_50(world) -> None:
    def create(capacity: Any) -> requests.Response:
        return admin_request(world, "POST", "/api/admin/agents", json={
            "email": f"{unique('agent')}@example.com", "name": "Cap", "password": "agent-password-1",
            "capacity": capacity})

    failures = [rest_mismatch(create(capacity), 400, "invalid", {"capacity": capacity})
                for capacity in (0, -1, 51, "3", True, False, 2.5, 3.0, None, [3], {"n": 3})]
    failures = [failure for failure in failures if failure]
    assert not failures, report(failures)
    for capacity in (1, 50):
        response = create(capacity)
        assert response.status_code == 201, (capacity, response.text)
        assert response.json()["capacity"] == capacity


def test_rest_panel_languages_validation_and_english_always_kept(world) -> None:
    admin = world.admin
    assert [l["code"] for l in admin.ok("PUT", "/api/admin/languages", {"languages": ["en", "de", "es"]})["languages"]] == ["en", "de", "es"]
    for languages in (["de", "xx"], ["klingon"], [""], ["zz"], ["de", None]):
        response = admin_request(world, "PUT", "/api/admin/languages", json={"languages": languages})
        assert_rest_error(response, 400, "invalid", languages)
        # A refused update changes nothing.
        assert [l["code"] for l in admin.ok("GET", "/api/admin/languages")["languages"]] == ["en", "de", "es"]
    assert [l["code"] for l in admin.ok("PUT", "/api/admin/languages", {"languages": ["de", "es"]})["languages"]] == ["en", "de", "es"]
    assert [l["code"] for l in admin.ok("PUT", "/api/admin/languages", {"languages": ["es", "en", "es"]})["languages"]] == ["en", "es"]
    assert [l["code"] for l in admin.ok("PUT", "/api/admin/languages", {"languages": []})["languages"]] == ["en"]
    assert [l["code"] for l in admin.ok("GET", "/api/widget/config")["languages"]] == ["en"]
    entry = admin.ok("PUT", "/api/admin/languages", {"languages": ["de"]})["languages"][1]
    assert entry == {"code": "de", "name": "German", "native_name": "Deutsch"}
    admin.ok("PUT", "/api/admin/languages", {"languages": ["en", "de", "es"]})


def test_rest_duplicate_emails_are_conflicts(world) -> None:
    email = f"{unique('agent')}@example.com"
    body = {"email": email, "name": "Dup", "password": "agent-password-1"}
    assert admin_request(world, "POST", "/api/admin/agents", json=body).status_code == 201
    assert_rest_error(admin_request(world, "POST", "/api/admin/agents", json=body), 409, "conflict")
    assert_rest_error(admin_request(world, "POST", "/api/admin/agents", json={**body, "email": email.upper()}), 409, "conflict")
    assert [a["email"] for a in world.admin.ok("GET", "/api/admin/agents")["agents"]].count(email) == 1

    email = f"{unique('client')}@example.com"
    assert admin_request(world, "POST", "/api/admin/clients", json={"email": email, "name": "Jo"}).status_code == 201
    assert_rest_error(admin_request(world, "POST", "/api/admin/clients", json={"email": email, "name": "Jo 2"}), 409, "conflict")
    assert_rest_error(admin_request(world, "POST", "/api/admin/clients", json={"email": email.upper(), "name": "Jo"}), 409, "conflict")
    assert [c["email"] for c in world.admin.ok("GET", "/api/admin/clients")["clients"]].count(email) == 1


def test_rest_bad_subscription_dates(world) -> None:
    def create(until: Any) -> requests.Response:
        return admin_request(world, "POST", "/api/admin/clients", json={
            "email": f"{unique('client')}@example.com", "name": "Sub", "subscription_active_until": until})

    for until in ("tomorrow", "2099-13-45T00:00:00Z", "2099-01-01", "2099-01-01T00:00:00", "", 20990101, True,
                  ["2099-01-01T00:00:00Z"], {"date": "2099-01-01T00:00:00Z"}):
        failure = rest_mismatch(create(until), 400, "invalid", {"subscription_active_until": until})
        assert failure is None, report([failure])
    response = create("2099-01-01T00:00:00+02:00")
    assert response.status_code == 201, response.text
    assert response.json()["subscription_active_until"] == "2098-12-31T22:00:00Z"
    assert response.json()["subscription_active"] is True
    response = create(None)
    assert response.status_code == 201 and response.json()["subscription_active"] is False


def test_rest_strings_with_nul_bytes_are_not_server_errors(world) -> None:
    """JSON allows U+0000; the API must refuse or store it, not fail with a 500."""
    mark = log_mark(world)
    responses = {
        "client name": admin_request(world, "POST", "/api/admin/clients",
                                     json={"email": f"{unique('client')}@example.com", "name": "Bad\x00Name"}),
        "agent email": admin_request(world, "POST", "/api/admin/agents",
                                     json={"email": f"a\x00{unique()}@example.com", "name": "Nul", "password": "agent-password-1"}),
        "login email": requests.post(world.url + "/api/auth/login",
                                     json={"email": "nobody\x00@example.com", "password": "whatever-1"}, timeout=10),
    }
    bad = {what: (r.status_code, r.text) for what, r in responses.items() if r.status_code >= 500}
    assert not bad, report(list(bad.items()))
    assert_no_new_traceback(world, mark)


def test_rest_unknown_routes_and_methods_answer_json_errors(world) -> None:
    response = requests.get(world.url + "/api/nothing-here", timeout=10)
    assert_rest_error(response, 404, "not_found")
    response = requests.delete(world.url + "/api/auth/login", timeout=10)
    assert_rest_error(response, 405, "method_not_allowed")

"""A real HTTP server speaking the OpenAI chat-completions API, for tests and benchmarks.

It stands in for the model provider, which is outside this machine, at the
wire: the server under test uses the official openai client against it.
Behaviour is scripted per request; every request is recorded.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """What the fake model does for one request."""

    text: str = "Bonjour ! Je suis l'assistant automatique. Comment puis-je vous aider ?"
    status: int = 200  # 429 or 5xx to fail
    delay: float = 0.0  # seconds before the response starts
    chunk_delay: float = 0.0  # seconds between streamed chunks
    chunk_size: int = 8  # characters per chunk
    tool_call: str | None = None  # name of a function to call instead of answering
    usage: tuple[int, int] | None = (120, 30)  # prompt, completion tokens; None sends no usage


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    received_at: float
    first_token_at: float | None = None
    chunk_times: list[float] = field(default_factory=list)


@dataclass
class FakeOpenAI:
    """Start with .start(); script replies with .script(...); read .requests."""

    default: Reply = field(default_factory=Reply)
    requests: list[Recorded] = field(default_factory=list)
    _script: deque[Reply] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> "FakeOpenAI":
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                owner._handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self.requests.clear()

    def _next(self) -> Reply:
        with self._lock:
            return self._script.popleft() if self._script else self.default

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = json.loads(handler.rfile.read(length) or b"{}")
        record = Recorded(handler.path, {k.lower(): v for k, v in handler.headers.items()}, body, time.time())
        with self._lock:
            self.requests.append(record)
        reply = self._next()
        if reply.delay:
            time.sleep(reply.delay)
        if reply.status != 200:
            payload = json.dumps({"error": {"message": f"fake error {reply.status}", "type": "fake", "code": None}}).encode()
            handler.send_response(reply.status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(payload)))
            if reply.status == 429:
                handler.send_header("Retry-After", "0")
            handler.end_headers()
            handler.wfile.write(payload)
            return
        completion_id = "chatcmpl-" + uuid.uuid4().hex[:12]
        model = body.get("model", "fake")
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": reply.text}
            if reply.tool_call:
                message = {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": reply.tool_call, "arguments": "{}"}}]}
            payload = json.dumps({"id": completion_id, "object": "chat.completion", "created": int(time.time()),
                                  "model": model, "choices": [{"index": 0, "message": message,
                                                               "finish_reason": "tool_calls" if reply.tool_call else "stop"}],
                                  "usage": _usage(reply)}).encode()
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
            return
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Cache-Control", "no-cache")
        handler.send_header("Connection", "close")
        handler.end_headers()

        def send(data: dict[str, Any] | str) -> None:
            text = data if isinstance(data, str) else json.dumps(data)
            handler.wfile.write(f"data: {text}\n\n".encode())
            handler.wfile.flush()

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time()),
                    "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        try:
            send(chunk({"role": "assistant", "content": ""}))
            if reply.tool_call:
                send(chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                            "function": {"name": reply.tool_call, "arguments": ""}}]}))
                send(chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}))
                send(chunk({}, "tool_calls"))
            else:
                for start in range(0, len(reply.text), reply.chunk_size):
                    if start and reply.chunk_delay:
                        time.sleep(reply.chunk_delay)
                    now = time.time()
                    if record.first_token_at is None:
                        record.first_token_at = now
                    record.chunk_times.append(now)
                    send(chunk({"content": reply.text[start:start + reply.chunk_size]}))
                send(chunk({}, "stop"))
            if reply.usage and (body.get("stream_options") or {}).get("include_usage"):
                send({"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time()),
                      "model": model, "choices": [], "usage": _usage(reply)})
            send("[DONE]")
        except (BrokenPipeError, ConnectionResetError):
            pass


def _usage(reply: Reply) -> dict[str, int]:
    prompt, completion = reply.usage or (0, 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

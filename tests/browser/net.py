"""The network around the browser: host websites on their own origins, and a link that can fail."""
from __future__ import annotations

import html
import socket
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

# A host page's own styles, as unfriendly as real ones get. None of it may
# reach inside the widget.
HOSTILE_CSS = """
  * { font-family: "Times New Roman", serif !important; color: rgb(255, 0, 255) !important;
      line-height: 3 !important; letter-spacing: 3px !important; text-transform: uppercase !important; }
  button { background: rgb(255, 0, 0) !important; padding: 30px !important; border-radius: 0 !important; }
  p, li, ol { margin: 40px !important; display: inline !important; }
"""


def embed_page(*, server: str, identity: str | None, title: str = "Acme Hosting") -> str:
    """A host website's page embedding the widget with its one script tag (no identity: data-verify)."""
    who = f'data-identity="{html.escape(identity)}"' if identity is not None else "data-verify"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><style>{HOSTILE_CSS}</style></head>
<body><h1>{html.escape(title)}</h1><p>Plans, prices and the status of your servers.</p>
<script src="{html.escape(server)}/widget.js" {who} async></script>
</body></html>"""


class HostSite:
    """A website on its own loopback origin, serving the pages a test gives it."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                body = pages.get(urlsplit(self.path).path)
                payload = (body or "not found").encode()
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def page(self, body: str) -> str:
        """Publish a page; return its URL."""
        path = f"/{uuid.uuid4().hex[:12]}"
        self.pages[path] = body
        return self.origin + path

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Link:
    """The browser's TCP path to the server: it can hold replies, and it can go down and come back.

    hold(): bytes from the server to the browser are dropped (a send reaches
    the server, its acknowledgement never comes back); cut(): every
    connection closes and new ones are refused until restore().
    """

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.target: int | None = None
        self.up = True
        self.holding = False
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                browser, _ = self._listener.accept()
            except OSError:
                return
            if not self.up or self.target is None:
                browser.close()
                continue
            try:
                server = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:
                browser.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._connections |= {browser, server}
            threading.Thread(target=self._pump, args=(browser, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, browser, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, downstream: bool) -> None:
        try:
            while data := source.recv(65536):
                if downstream and self.holding:
                    continue
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                self._close(end)

    def _close(self, end: socket.socket) -> None:
        with self._lock:
            self._connections.discard(end)
        try:
            end.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        end.close()

    def hold(self) -> None:
        self.holding = True

    def cut(self) -> None:
        self.up = False
        with self._lock:
            connections = list(self._connections)
        for end in connections:
            self._close(end)
        self.holding = False

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self._listener.close()

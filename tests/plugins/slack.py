"""A fake Slack incoming-webhook server on loopback, for notification tests.

``slack_webhook`` (fixture) starts one per test and yields a ``FakeSlackWebhook``:

- ``url``: the webhook URL (with a secret-looking path, to check it is never logged);
- ``messages``: the JSON bodies posted so far, in order (recorded before answering);
- ``answer(status, body)``: answer every later post with this status and body (Slack answers
  200 ``ok``; a removed webhook 404 ``no_service``; an outage 500);
- ``hang(seconds)``: hold every later post unanswered until ``close()`` (or, as a safety net
  against a client without a timeout, until ``seconds`` pass);
- ``answered``: how many posts were answered so far (a held post is not);
- ``close()``: stop listening, so posts get "connection refused".
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

WEBHOOK_PATH = "/services/T0CONDUCTOR/B0NOTIFY/s3cr3tW3bh00kT0k3n"
#: How long ``hang()`` holds a post at most: far beyond any client timeout a test sets.
HOLD_S = 120.0


class FakeSlackWebhook:
    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request
        self.answered = 0
        self._status = 200
        self._body = "ok"
        self._delay_s = 0.0
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._closed = False
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}{WEBHOOK_PATH}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-slack", daemon=True)
        self._thread.start()

    def answer(self, status: int, body: str = "") -> None:
        with self._lock:
            self._status, self._body = status, body

    def hang(self, seconds: float = HOLD_S) -> None:
        with self._lock:
            self._delay_s = seconds

    def close(self) -> None:
        """Stop serving and close the listening socket: later posts are refused."""
        if self._closed:
            return
        self._closed = True
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                with fake._lock:
                    fake.requests.append(("POST", self.path))
                    if self.path == WEBHOOK_PATH:
                        try:
                            fake.messages.append(json.loads(raw))
                        except json.JSONDecodeError:
                            fake.messages.append({"unparsed": raw.decode("utf-8", "replace")})
                    status, body, delay = fake._status, fake._body, fake._delay_s
                if self.path != WEBHOOK_PATH:
                    status, body = 404, "no_service"
                if delay:
                    fake._released.wait(delay)
                with fake._lock:
                    fake.answered += 1
                data = body.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (timeout) and closed the connection

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def slack_webhook() -> Iterator[FakeSlackWebhook]:
    fake = FakeSlackWebhook()
    try:
        yield fake
    finally:
        fake.close()

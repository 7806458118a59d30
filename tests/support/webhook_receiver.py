"""A real webhook receiver on loopback (ThreadingHTTPServer in a thread) that checks each post's signature
with the verification snippet documented for integrators, and counts what it received by event id."""
from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# --- the documented verification snippet (docs/contracts.md, "Signed event webhooks"; it imports hashlib,
# hmac and time), verbatim ---

def verify_sealed_webhook(secret: str, headers, body: bytes, tolerance: int = 300) -> bool:
    """True when the POST was signed by Sealed with `secret` within `tolerance` seconds."""
    timestamp = headers.get("Sealed-Timestamp", "")
    signature = headers.get("Sealed-Signature", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = "v1=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)
# --- end of the snippet ---


def free_port() -> int:
    """A loopback port nothing listens on (yet)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Receiver:
    """Receives posts at ``url``; ``answer`` is the status it replies; ``start``/``stop`` bring it up or down.

    ``posts``: every post as (headers, body, verified); ``events``: the de-duplicated events by id, as a
    receiver that de-duplicates would keep them; ``counts``: how often each event id arrived."""

    def __init__(self, secret: str | None = None, port: int | None = None, answer: int = 200, delay: float = 0):
        self.secret, self.port, self.answer, self.delay = secret, port or free_port(), answer, delay
        self.posts: list[tuple[dict, bytes, bool]] = []
        self.events: dict[str, dict] = {}
        self.counts: Counter = Counter()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/sealed"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the name http.server calls
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {name: value for name, value in self.headers.items()}
                if receiver.delay:
                    time.sleep(receiver.delay)
                verified = receiver.secret is not None and verify_sealed_webhook(receiver.secret, headers, body)
                status = receiver.answer if verified or receiver.secret is None else 401
                with receiver._lock:
                    receiver.posts.append((headers, body, verified))
                    if 200 <= status < 300:
                        event = json.loads(body)
                        receiver.counts[event["id"]] += 1
                        receiver.events.setdefault(event["id"], event)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = self._thread = None

    def of_type(self, event_type: str) -> list[dict]:
        """The received (verified, acknowledged) events of one type."""
        with self._lock:
            return [event for event in self.events.values() if event["type"] == event_type]


def register(url: str, events=None) -> tuple[int, str]:
    """Register an endpoint through the core as an admin would (inside an app context, committed): (id, secret)."""
    from messaging.audit import SYSTEM
    from messaging.db import db
    from messaging.models.webhooks import WEBHOOK_EVENT_TYPES
    from messaging.webhooks.endpoints import register_endpoint

    registered = register_endpoint(SYSTEM, url, list(events or WEBHOOK_EVENT_TYPES))
    db.session.commit()
    return registered.endpoint.id, registered.secret

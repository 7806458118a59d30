"""A local HTTP server that answers like Twilio's Messages and Calls endpoints, for the real SDK.

It checks HTTP basic auth, answers JSON shaped like Twilio's (``sid``, ``status``, ``to``, ...),
answers Twilio's error JSON (``code``, ``message``, ``more_info``, ``status``) for numbers told to
fail, can be taken "down" (503), and records every request it receives so tests can count.
"""
from __future__ import annotations

import base64
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, parse_qsl, urlsplit

# The public address the app under test believes it has: links and webhook signatures use it.
PUBLIC_BASE_URL = "https://sealed.example"

PATH = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC[0-9a-f]{32})/(?P<kind>Messages|Calls)\.json$")

ERRORS = {
    21211: (400, "The 'To' number is not a valid phone number."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21614: (400, "'To' number is not a valid mobile number"),
    30001: (500, "Queue overflow"),
}


@dataclass
class Received:
    kind: str  # "Messages" or "Calls"
    form: dict
    sid: str | None

    @property
    def to(self) -> str:
        return self.form.get("To", "")

    @property
    def callback_key(self) -> str | None:
        url = self.form.get("StatusCallback")
        if not url:
            return None
        return dict(parse_qsl(urlsplit(url).query)).get("key")


@dataclass
class FakeTwilioState:
    account_sid: str
    auth_token: str
    received: list[Received] = field(default_factory=list)
    fail_numbers: dict[str, int] = field(default_factory=dict)  # To number -> Twilio error code
    down: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def messages(self) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.kind == "Messages" and r.sid]

    def calls(self) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.kind == "Calls" and r.sid]


def _handler(state: FakeTwilioState):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def _json(self, status: int, payload: dict) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _error(self, code: int, status: int | None = None, message: str | None = None) -> None:
            http_status, text = ERRORS.get(code, (status or 400, message or "Error"))
            self._json(status or http_status, {"code": code, "message": message or text,
                                               "more_info": f"https://www.twilio.com/docs/errors/{code}",
                                               "status": status or http_status})

        def do_POST(self):  # noqa: N802 - http.server's naming
            match = PATH.match(urlsplit(self.path).path)
            if match is None:
                return self._error(20404, 404, "The requested resource was not found")
            expected = "Basic " + base64.b64encode(f"{state.account_sid}:{state.auth_token}".encode()).decode()
            if self.headers.get("Authorization") != expected or match["account"] != state.account_sid:
                return self._error(20003, 401, "Authenticate")
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode(), keep_blank_values=True).items()}
            kind = match["kind"]
            if state.down:
                with state.lock:
                    state.received.append(Received(kind, form, None))
                return self._error(20500, 503, "Service Unavailable")
            failure = state.fail_numbers.get(form.get("To", ""))
            if failure:
                with state.lock:
                    state.received.append(Received(kind, form, None))
                return self._error(failure)
            sid = ("SM" if kind == "Messages" else "CA") + secrets.token_hex(16)
            with state.lock:
                state.received.append(Received(kind, form, sid))
            now = formatdate(usegmt=True)
            common = {"sid": sid, "account_sid": state.account_sid, "to": form.get("To"), "from": form.get("From"),
                      "status": "queued", "date_created": now, "date_updated": now, "api_version": "2010-04-01",
                      "uri": f"/2010-04-01/Accounts/{state.account_sid}/{kind}/{sid}.json"}
            if kind == "Messages":
                common.update({"body": form.get("Body"), "num_segments": "1", "direction": "outbound-api",
                               "error_code": None, "error_message": None, "price": None})
            else:
                common.update({"direction": "outbound-api", "duration": None})
            return self._json(201, common)

    return Handler


class FakeTwilio:
    """``with FakeTwilio() as fake:`` — ``fake.base_url`` for TWILIO_API_BASE, ``fake.state`` to look."""

    def __init__(self, account_sid: str | None = None, auth_token: str | None = None):
        self.state = FakeTwilioState(account_sid=account_sid or "AC" + secrets.token_hex(16),
                                     auth_token=auth_token or secrets.token_hex(16))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def config(self, sender: str = "+15005550006") -> dict:
        """App config that points the twilio transports at this server."""
        return {"SMS_TRANSPORT": "twilio", "VOICE_TRANSPORT": "twilio", "TWILIO_ACCOUNT_SID": self.state.account_sid,
                "TWILIO_AUTH_TOKEN": self.state.auth_token, "TWILIO_FROM": sender, "TWILIO_API_BASE": self.base_url}

    def __enter__(self) -> FakeTwilio:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

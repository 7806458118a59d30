"""SMS and voice through the official ``twilio`` SDK.

SMS: ``messages.create``. Voice: ``calls.create`` with inline TwiML that speaks the text with
``<Say>``. Each send asks for status callbacks at ``/hooks/twilio/status?key=<idempotency key>``.

Idempotency: Twilio's Messages and Calls APIs take no idempotency key. The engine therefore
(1) commits the returned SID in the same transaction that marks the row sent, right after the
call returns; (2) never sends a row that has a provider id; (3) lets a status callback find the
row by the key in its URL and attach the SID. The window left: a worker that dies after Twilio
accepted and before that commit, with no callback arriving before the lease ends, sends again.
"""
from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from messaging.delivery.transports.base import Outgoing, SendResult, TransportError

# 429 and 5xx are "try again"; other 4xx are Twilio's final answer for this send.
RETRYABLE_HTTP = frozenset({408, 409, 429})

SAY_LANGUAGES = {"es": "es-ES"}  # <Say language=…> for a contact language other than English


class BaseUrlHttpClient(TwilioHttpClient):
    """Sends the SDK's requests to another base URL (a Twilio-compatible server), keeping path and query."""

    def __init__(self, base_url: str, **kwargs):
        super().__init__(**kwargs)
        parts = urlsplit(base_url)
        self.scheme, self.netloc = parts.scheme, parts.netloc

    def request(self, method, url, *args, **kwargs):
        parts = urlsplit(url)
        return super().request(method, urlunsplit((self.scheme, self.netloc, parts.path, parts.query,
                                                   parts.fragment)), *args, **kwargs)


def make_client(account_sid: str, auth_token: str, api_base: str | None = None, timeout: float = 20.0) -> Client:
    """A Twilio client; with ``api_base`` (``TWILIO_API_BASE``) it talks to that server instead."""
    http_client = BaseUrlHttpClient(api_base, timeout=timeout) if api_base else TwilioHttpClient(timeout=timeout)
    return Client(account_sid, auth_token, http_client=http_client)


def _twilio_error(exc: TwilioException) -> TransportError:
    status = getattr(exc, "status", None)
    code = getattr(exc, "code", None)
    if isinstance(exc, TwilioServiceException):
        text = exc.detail or exc.title
    elif isinstance(exc, TwilioRestException):
        text = exc.msg
    else:
        text = str(exc)
    retryable = status is None or status >= 500 or status in RETRYABLE_HTTP
    label = f"Twilio error {code} (HTTP {status})" if code else f"Twilio HTTP {status}"
    return TransportError(f"{label}: {text}", retryable=retryable, code=str(code) if code else None)


class TwilioTransport:
    """SMS and voice calls through Twilio's REST API, asking for status callbacks on each send."""

    name = "twilio"
    transactional = False

    def __init__(self, client: Client, sender: str, callback_base: str | None = None, timeout: float = 20.0):
        self.client = client
        self.sender = sender
        self.callback_base = callback_base.rstrip("/") if callback_base else None
        self.max_send_seconds = timeout * 2

    @classmethod
    def from_config(cls, config) -> TwilioTransport:
        """The transport the ``TWILIO_*`` settings describe; refused when a credential is missing."""
        sid, token, sender = config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"], config["TWILIO_FROM"]
        missing = [name for name, value in (("TWILIO_ACCOUNT_SID", sid), ("TWILIO_AUTH_TOKEN", token),
                                            ("TWILIO_FROM", sender)) if not value]
        if missing:
            raise RuntimeError("the twilio transport needs " + ", ".join(missing))
        timeout = config["TWILIO_TIMEOUT"]
        return cls(make_client(sid, token, config["TWILIO_API_BASE"], timeout), sender,
                   callback_base=config["PUBLIC_BASE_URL"], timeout=timeout)

    def status_callback(self, key: str | None) -> str | None:
        """The URL Twilio reports this send's status to, carrying the idempotency key; None without a base."""
        if not self.callback_base:
            return None
        query = f"?{urlencode({'key': key})}" if key else ""
        return f"{self.callback_base}/hooks/twilio/status{query}"

    def send(self, outgoing: Outgoing) -> SendResult:
        """Send one SMS, or place one call that speaks the text; returns the SID."""
        callback = self.status_callback(outgoing.idempotency_key)
        extra = {"status_callback": callback} if callback else {}
        try:
            if outgoing.channel == "voice":
                twiml = VoiceResponse()
                # English keeps Twilio's default voice (en-US); another language names its locale.
                say_language = SAY_LANGUAGES.get(outgoing.language)
                twiml.say(outgoing.speak or outgoing.text, **({"language": say_language} if say_language else {}))
                resource = self.client.calls.create(to=outgoing.to, from_=self.sender, twiml=str(twiml), **extra)
            else:
                resource = self.client.messages.create(to=outgoing.to, from_=self.sender, body=outgoing.text,
                                                       **extra)
        except TwilioException as exc:
            raise _twilio_error(exc) from None
        except requests.RequestException as exc:
            raise TransportError(f"Twilio unreachable: {exc.__class__.__name__}", retryable=True) from None
        return SendResult(provider_id=resource.sid)

"""E-mail through a real SMTP server (aiosmtpd on loopback): multipart, no content in notices,
retries while the server is down, nothing lost or doubled when it comes back; STARTTLS, TLS, login."""
from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
from collections import Counter
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from messaging.clock import utcnow
from messaging.db import db
from messaging.delivery.claim import claim_due_deliveries
from messaging.delivery.engine import dispatch_once, render_outgoing
from messaging.delivery.transports import transport_for
from messaging.delivery.transports.base import Outgoing, TransportError
from messaging.delivery.transports.smtp import SmtpTransport
from messaging.models import Delivery
from seeds.factories import make_contact
from tests.support.messages import send
from tests.support.servers import free_port


class Inbox:
    """aiosmtpd handler that keeps every message it accepts."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        with self.lock:
            self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"

    def message_ids(self) -> Counter:
        with self.lock:
            return Counter(m["Message-ID"] for _, m in self.messages)


class SmtpServer:
    def __init__(self, port: int | None = None, **controller_args):
        self.port = port or free_port()
        self.inbox = Inbox()
        self.args = controller_args
        self.controller = None

    def start(self):
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **self.args)
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()


@pytest.fixture
def smtp_server():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def smtp_app(make_app, smtp_server):
    return make_app(EMAIL_TRANSPORT="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port,
                    SMTP_SECURITY="none", SMTP_FROM="clinic@sealed.example", SMTP_TIMEOUT=5)


def _email(contact, secure: bool, body: str, subject: str):
    return send(contact, channel="email", body=body, subject=subject, secure=secure)


def _parts(mail) -> dict:
    return {part.get_content_type(): part.get_content() for part in mail.walk() if not part.is_multipart()}


def test_emails_arrive_as_text_and_html_and_the_secure_notice_holds_no_content(smtp_app, smtp_server):
    with smtp_app.app_context():
        contact = make_contact(first_name="Ada", email="ada@example.com")
        _email(contact, True, "Your HbA1c is 6.1, please book a follow-up", "Diabetes follow-up")
        _email(contact, False, "Your appointment is on Tuesday at 10:00", "Appointment")
        assert dispatch_once().sent == 2
    by_subject = {mail["Subject"]: (rcpts, mail) for rcpts, mail in smtp_server.inbox.messages}
    rcpts, notice = by_subject["A secure message from Sealed demo clinic"]
    assert rcpts == ["ada@example.com"] and notice["From"] == "clinic@sealed.example"
    assert notice.get_content_type() == "multipart/alternative"
    parts = _parts(notice)
    assert set(parts) == {"text/plain", "text/html"}
    for text in parts.values():
        assert "/m/" in text
        assert "HbA1c" not in text and "Diabetes" not in text and "follow-up" not in text
    _, standard = by_subject["Appointment"]
    assert all("Tuesday at 10:00" in text for text in _parts(standard).values())


def test_a_stopped_server_makes_deliveries_retry_and_a_restart_lets_all_through_once(smtp_app, smtp_server):
    with smtp_app.app_context():
        contacts = [make_contact(email=f"client{i}@example.com") for i in range(5)]
        for i, contact in enumerate(contacts):
            _email(contact, i % 2 == 0, f"Message {i}", f"Subject {i}")
        smtp_server.stop()
        failed_pass = dispatch_once()
        assert failed_pass.retried == 5 and failed_pass.sent == 0
        rows = db.session.scalars(db.select(Delivery)).all()
        assert {r.status for r in rows} == {"queued"}
        assert all("unreachable" in r.last_error for r in rows)
        assert dispatch_once().claimed == 0  # waiting for the backoff

        smtp_server.start()  # same port
        later = max(r.next_attempt_at for r in rows) + dt.timedelta(seconds=1)
        assert dispatch_once(now=later).sent == 5
        assert dispatch_once(now=later + dt.timedelta(hours=2)).claimed == 0
        db.session.expire_all()
        assert {r.status for r in db.session.scalars(db.select(Delivery))} == {"sent"}
    ids = smtp_server.inbox.message_ids()
    assert len(ids) == 5 and set(ids.values()) == {1}
    assert sorted(r[0] for r, _ in smtp_server.inbox.messages) == sorted(f"client{i}@example.com" for i in range(5))


def test_a_resend_after_a_crash_carries_the_same_message_id(smtp_app, smtp_server):
    with smtp_app.app_context():
        _email(make_contact(), False, "Hello", "Hi")
        [delivery_id] = claim_due_deliveries(owner="doomed", lease_seconds=5)
        delivery = db.session.get(Delivery, delivery_id)
        transport_for("email").send(render_outgoing(delivery))  # accepted; the worker dies before recording it
        db.session.rollback()
        assert dispatch_once(now=utcnow() + dt.timedelta(seconds=6)).sent == 1
    ids = smtp_server.inbox.message_ids()
    # The documented window: the server got it twice, under one Message-ID a receiver can de-duplicate on.
    assert list(ids.values()) == [2]


def test_a_permanent_refusal_fails_at_once_with_the_servers_words(make_app):
    class Refusing(Inbox):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
            return "550 5.1.1 No such user here"

    port = free_port()
    controller = Controller(Refusing(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app = make_app(EMAIL_TRANSPORT="smtp", SMTP_PORT=port, SMTP_TIMEOUT=5)
        with app.app_context():
            message = _email(make_contact(), False, "Hello", "Hi")
            assert dispatch_once().failed == 1
            db.session.refresh(message)
            assert message.status == "failed" and "No such user" in message.deliveries[0].last_error
    finally:
        controller.stop()


# --- STARTTLS, implicit TLS and login ----------------------------------------------------------

def _self_signed() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


@pytest.fixture
def tls(tmp_path):
    cert, key = _self_signed()
    (tmp_path / "cert.pem").write_bytes(cert)
    (tmp_path / "key.pem").write_bytes(key)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    client_context = ssl.create_default_context(cadata=cert.decode())
    return server_context, client_context


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"sealed" and auth_data.password == b"s3cret"
    # handled=False: aiosmtpd answers a refusal with 535 at once. Its default (handled=True) means "I have
    # answered already", so nothing is sent and the client would only give up at its timeout.
    return AuthResult(success=ok, handled=False)


def _outgoing(key: str) -> Outgoing:
    return Outgoing(channel="email", to="ada@example.com", text="Hello", subject="Hi", html="<p>Hello</p>",
                    idempotency_key=key)


def test_starttls_with_login(tls):
    server_context, client_context = tls
    server = SmtpServer(tls_context=server_context, require_starttls=True, authenticator=_authenticator,
                        auth_required=True).start()
    try:
        transport = SmtpTransport("127.0.0.1", server.port, "starttls", "sealed", "s3cret", "clinic@sealed.example",
                                  timeout=5, ssl_context=client_context)
        transport.send(_outgoing("k1"))
        wrong = SmtpTransport("127.0.0.1", server.port, "starttls", "sealed", "wrong", "clinic@sealed.example",
                              timeout=5, ssl_context=client_context)
        with pytest.raises(TransportError, match=r"^SMTP 535: .*Authentication credentials invalid"):
            wrong.send(_outgoing("k2"))  # refused by the server, not timed out
        plain = SmtpTransport("127.0.0.1", server.port, "none", None, None, "clinic@sealed.example", timeout=5)
        with pytest.raises(TransportError):
            plain.send(_outgoing("k3"))  # the server insists on STARTTLS
    finally:
        server.stop()
    assert [m["Subject"] for _, m in server.inbox.messages] == ["Hi"]


def test_implicit_tls(tls):
    # (aiosmtpd offers AUTH only after STARTTLS, so login is covered by the test above.)
    server_context, client_context = tls
    server = SmtpServer(ssl_context=server_context).start()
    try:
        transport = SmtpTransport("127.0.0.1", server.port, "tls", None, None, "clinic@sealed.example",
                                  timeout=5, ssl_context=client_context)
        transport.send(_outgoing("k1"))
        untrusting = SmtpTransport("127.0.0.1", server.port, "tls", None, None, "clinic@sealed.example", timeout=5)
        with pytest.raises(TransportError):
            untrusting.send(_outgoing("k2"))  # a certificate the client does not trust is refused
    finally:
        server.stop()
    assert len(server.inbox.messages) == 1


def test_an_unknown_security_mode_is_refused():
    with pytest.raises(ValueError, match="SMTP_SECURITY"):
        SmtpTransport("127.0.0.1", 25, "ssl")

"""E-mail over SMTP: plain, STARTTLS or implicit TLS, optional login, multipart text + HTML.

Idempotency: SMTP has no idempotency key, so the message carries a stable ``Message-ID`` derived
from the delivery's key. If a worker dies after the server said 250 but before the engine
recorded it, the retry sends the same Message-ID again; receiving systems that de-duplicate on
Message-ID (many do) show it once. That window — server accepted, outcome not yet committed —
is the one place a duplicate can still reach an inbox.
"""
from __future__ import annotations

import hashlib
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from messaging.delivery.transports.base import Outgoing, SendResult, TransportError

SECURITY_MODES = ("none", "starttls", "tls")


def message_id_for(key: str, sender: str) -> str:
    """The same Message-ID on every attempt of one delivery (a hash: keys may hold characters a
    Message-ID may not, and the key itself need not travel)."""
    domain = sender.rsplit("@", 1)[-1].strip(" >") if "@" in sender else "sealed.invalid"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


class SmtpTransport:
    """E-mail through one SMTP server; a send is one connection (a Message-ID derived from the key)."""

    name = "smtp"
    transactional = False

    def __init__(self, host: str, port: int, security: str = "none", username: str | None = None,
                 password: str | None = None, sender: str = "sealed@localhost", timeout: float = 20.0,
                 ssl_context: ssl.SSLContext | None = None):
        if security not in SECURITY_MODES:
            raise ValueError(f"SMTP_SECURITY must be one of {', '.join(SECURITY_MODES)}, not {security!r}")
        self.host, self.port, self.security = host, int(port), security
        self.username, self.password, self.sender = username, password, sender
        self.timeout = timeout
        self.max_send_seconds = timeout * 2  # connect and data each have the timeout
        self.ssl_context = ssl_context or ssl.create_default_context()

    @classmethod
    def from_config(cls, config) -> SmtpTransport:
        """The transport the ``SMTP_*`` settings describe."""
        return cls(host=config["SMTP_HOST"], port=config["SMTP_PORT"], security=config["SMTP_SECURITY"].strip().lower(),
                   username=config["SMTP_USERNAME"], password=config["SMTP_PASSWORD"], sender=config["SMTP_FROM"],
                   timeout=config["SMTP_TIMEOUT"])

    def build(self, outgoing: Outgoing) -> EmailMessage:
        """The multipart e-mail for one send: text, HTML when there is one, and the stable Message-ID."""
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = outgoing.to
        mail["Subject"] = outgoing.subject or ""
        mail["Date"] = formatdate(localtime=False)
        if outgoing.idempotency_key:
            mail["Message-ID"] = message_id_for(outgoing.idempotency_key, self.sender)
        mail.set_content(outgoing.text)
        if outgoing.html:
            mail.add_alternative(outgoing.html, subtype="html")
        return mail

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self.ssl_context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.security == "starttls":
                client.starttls(context=self.ssl_context)
        if self.username:
            client.login(self.username, self.password or "")
        return client

    def send(self, outgoing: Outgoing) -> SendResult:
        """Deliver one e-mail; a 5xx answer fails it for good, anything else may be retried."""
        mail = self.build(outgoing)
        try:
            client = self._connect()
            try:
                client.send_message(mail)
            finally:
                try:
                    client.quit()
                except (smtplib.SMTPException, OSError):
                    pass
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            permanent = all(500 <= code < 600 for code in codes)
            raise TransportError(f"SMTP refused the recipient: {exc.recipients}", retryable=not permanent,
                                 code=str(codes[0]) if codes else None) from None
        except smtplib.SMTPResponseException as exc:
            # 5xx is the server's final word about this message; 4xx means "try later".
            text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
            permanent = 500 <= exc.smtp_code < 600 and not isinstance(exc, smtplib.SMTPAuthenticationError)
            raise TransportError(f"SMTP {exc.smtp_code}: {text}", retryable=not permanent,
                                 code=str(exc.smtp_code)) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TransportError(f"SMTP server unreachable or failed: {exc.__class__.__name__}: {exc}",
                                 retryable=True) from None
        return SendResult(provider_id=mail["Message-ID"].strip("<>")[:64] if mail["Message-ID"] else None)

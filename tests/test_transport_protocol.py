"""Every transport declares what the engine relies on: send, transactional and max_send_seconds."""
from __future__ import annotations

from messaging.delivery.transports import Transport, transport_for
from messaging.delivery.transports.outbox import OutboxTransport
from messaging.delivery.transports.smtp import SmtpTransport
from messaging.delivery.transports.twilio_transport import TwilioTransport, make_client


def test_each_transport_satisfies_the_protocol():
    transports = [OutboxTransport(), SmtpTransport("127.0.0.1", 25),
                  TwilioTransport(make_client("AC" + "0" * 32, "token"), "+15005550006")]
    for transport in transports:
        assert isinstance(transport, Transport), transport.name
        assert isinstance(transport.transactional, bool) and transport.max_send_seconds > 0


def test_only_the_outbox_sends_inside_the_engines_transaction():
    assert OutboxTransport().transactional
    assert not SmtpTransport("127.0.0.1", 25).transactional
    assert not TwilioTransport(make_client("AC" + "0" * 32, "token"), "+15005550006").transactional


def test_the_configured_transports_satisfy_it(ctx):
    for channel in ("sms", "email", "voice"):
        assert isinstance(transport_for(channel), Transport)

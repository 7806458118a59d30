"""The delivery engine: claim due deliveries with a lease, send them, record the outcome.

A ``Delivery`` row is the unit of work (a transactional outbox). Its life:
``queued`` → ``sending`` (claimed, with a lease) → ``sent`` → ``delivered`` | ``failed``;
or ``suppressed`` (consent withdrawn on the channel, or marketing without consent), or
``cancelled`` (the message was revoked or cancelled, or a renotice became pointless). A failed
send goes back to ``queued`` with exponential backoff and jitter until ``DELIVERY_MAX_ATTEMPTS``,
then ends ``failed`` with the provider's error.

Exactly once, as far as a provider allows:
- A claim is one ``UPDATE … RETURNING`` (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite has one
  writer at a time), so two workers never hold the same row.
- A claim holds for ``DELIVERY_LEASE_SECONDS``. A worker that dies leaves its rows ``sending``;
  once the lease has run out another pass claims them again. A live worker stops sending from a
  batch before its lease could run out mid-send, so a reclaimed row is never still in flight.
- Each send carries the row's idempotency key. The outbox transport writes its record in the same
  transaction as the outcome (no window at all); SMTP sends a Message-ID derived from the key;
  with Twilio the SID is committed right after the API call returns, and a row that has a provider
  id is never sent again (see transports/twilio_transport.py for the window that remains).

Work per pass is batched: one claim statement, one query loading the batch with its messages and
contacts, settings read once, and one commit per batch for a transactional transport (the outbox)
or one commit per row for a real provider (recording an acceptance at once matters more there).

The parts: ``claim`` (the claim with its lease, and giving rows back), ``outcomes`` (what becomes
of a row: sent, retried, failed, suppressed, cancelled, deferred), ``rendering.outgoing`` (the
client's text, the same the compose preview shows) and this module (one row's way through a pass,
and the passes).
"""
from __future__ import annotations

import secrets
import time
from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from messaging import clock
from messaging.client.codes import render_code_delivery
from messaging.db import db
from messaging.delivery.claim import claim_due_deliveries, release, worker_id
from messaging.delivery.outcomes import (
    PassResult,
    PassRun,
    PassSettings,
    cancel,
    defer,
    record_sent,
    retry_or_fail,
    suppress,
)
from messaging.delivery.pacing import paces_from_config
from messaging.delivery.quiet_hours import waits_for_quiet_hours
from messaging.delivery.transports import Outgoing, Transport, TransportError, transport_for
from messaging.messages import link_for, message_content
from messaging.models import Delivery, Message
from messaging.people.consent import states_for
from messaging.policy.optout import suppression_reason_for
from messaging.rendering.language import speaking
from messaging.rendering.outgoing import LINK_CHANNEL, ClientFacts, notice_source, outgoing_text
from messaging.settings import get_settings

NOTICE_KINDS = ("notice", "renotice", "link")  # generic text + link (voice: "a secure message is waiting")
LEASE_SAFETY = 0.8  # start a send only while this share of the lease is left for it to finish
TALLIES = ("claimed", "sent", "retried", "failed", "suppressed", "deferred", "cancelled", "released")


def render_outgoing(delivery: Delivery, settings=None) -> Outgoing:
    """The exact text for one delivery, rendered at send time from the encrypted message.

    A notice (and renotice, and the link after a call) holds the organisation's name, the client's
    first name and the link — nothing of the content, which is not even decrypted for it. Notices
    and codes are in the contact's language (no request, so no locale selector: forced here).
    """
    message = delivery.message
    language = message.contact.language
    with speaking(language):
        return _render_outgoing(delivery, settings or get_settings(), language)


def _render_outgoing(delivery: Delivery, settings, language: str) -> Outgoing:
    message = delivery.message
    first_name = message.contact.first_name
    org_name = settings.org_name
    notice = delivery.kind in NOTICE_KINDS
    if notice:
        facts = ClientFacts(org_name, first_name, link=link_for(message),
                            notice_template=notice_source(message.template, settings, language), language=language)
    elif delivery.kind == "code":
        # The code's text holds the organisation and the code only: no link, no content.
        subject, text = render_code_delivery(delivery, org_name)
        facts = ClientFacts(org_name, first_name, subject=subject, body=text, language=language)
    else:
        subject, text = message_content(message)
        facts = ClientFacts(org_name, first_name, subject=subject, body=text or "", language=language)
    sent = outgoing_text(delivery.channel, notice, facts)
    return Outgoing(channel=delivery.channel, to=delivery.to_address, text=sent.text, subject=sent.subject,
                    html=sent.html, idempotency_key=delivery.idempotency_key, message_public_id=message.public_id,
                    delivery_id=delivery.id, speak=sent.speak, language=sent.language)


def _ensure_link_sms(delivery: Delivery, run: PassRun) -> None:
    """A secure message by voice: the call only says one is waiting; the link goes by SMS."""
    message = delivery.message
    key = f"link:{message.public_id}"
    if message.contact.phone and not any(d.idempotency_key == key for d in message.deliveries):
        db.session.add(Delivery(message=message, kind="link", channel=LINK_CHANNEL, to_address=message.contact.phone,
                                idempotency_key=key, next_attempt_at=run.now))


def _link_dead(message: Message, now: datetime) -> bool:
    return message.expires_at is not None and message.expires_at <= now


def _process(delivery: Delivery, transport: Transport, run: PassRun) -> None:
    if delivery.status != "sending" or delivery.claimed_by != run.owner:
        return  # a status callback or an admin got there first
    message = delivery.message
    if delivery.provider_id:
        # The provider accepted this row before (a status callback told us): never send it again.
        record_sent(delivery, delivery.provider_id, run)
        return
    if message.revoked_at is not None or message.status in ("revoked", "cancelled"):
        cancel(delivery, run)
        return
    if delivery.kind == "renotice" and (message.viewed_at is not None or _link_dead(message, run.now)):
        cancel(delivery, run)  # read meanwhile, or the link is dead: the ladder stops
        return
    reason = suppression_reason_for(delivery, message.contact, run.consent.get(message.contact_id))
    if reason:
        suppress(delivery, reason, run)
        return
    if run.settings.quiet is not None and waits_for_quiet_hours(delivery, message):
        opens = run.settings.quiet.opens_at(message.contact.timezone, run.now)  # the contact's clock
        if opens is not None:
            defer(delivery, opens, run)
            return
    if delivery.kind == "notice" and delivery.channel == "voice" and message.mode == "secure":
        _ensure_link_sms(delivery, run)
    try:
        outgoing = render_outgoing(delivery, run.settings)
        sent = transport.send(outgoing)
    except TransportError as exc:
        retry_or_fail(delivery, exc, run)
        return
    record_sent(delivery, sent.provider_id, run)


# --- the pass ------------------------------------------------------------------------------------

def _load(ids: list[int]) -> list[Delivery]:
    return list(db.session.execute(
        select(Delivery).where(Delivery.id.in_(ids)).order_by(Delivery.id)
        .options(joinedload(Delivery.message).joinedload(Message.contact),
                 joinedload(Delivery.message).joinedload(Message.template),
                 joinedload(Delivery.message).joinedload(Message.situation))).unique().scalars())


def _after_crash(delivery_id: int, exc: Exception, run: PassRun, unsent: list[int]) -> None:
    """An unexpected error (a bug, the database): the row that raised retries with backoff like a
    failed send; the rest of the batch goes back to the queue."""
    db.session.rollback()
    run.forget_unwritten()  # rolled back with the rest
    current_app.logger.exception("delivery %s crashed the pass", delivery_id)
    run.result.errors.append(f"delivery {delivery_id}: {exc.__class__.__name__}: {exc}")
    try:
        delivery = db.session.get(Delivery, delivery_id)
        if delivery is not None and delivery.status == "sending" and delivery.claimed_by == run.owner:
            retry_or_fail(delivery, TransportError(f"internal error: {exc.__class__.__name__}: {exc}"), run)
            db.session.commit()
        run.result.released += release([i for i in unsent if i != delivery_id], run.owner)
    except Exception:  # noqa: BLE001 - the database itself may be gone; the leases will expire
        db.session.rollback()
        current_app.logger.exception("could not record the crash of delivery %s", delivery_id)


def _run_batch(ids: list[int], run: PassRun, lease_seconds: float) -> None:
    started = time.monotonic()
    rows = _load(ids)
    run.consent = states_for(d.message.contact_id for d in rows)
    uncommitted: list[int] = []
    for index, delivery in enumerate(rows):
        delivery_id = delivery.id
        try:
            transport = transport_for(delivery.channel)
            if time.monotonic() - started + transport.max_send_seconds > lease_seconds * LEASE_SAFETY:
                # The lease could run out mid-send and another worker reclaim the row: stop here.
                run.commit()
                run.result.released += release([d.id for d in rows[index:]], run.owner)
                if index == 0:
                    current_app.logger.error(
                        "DELIVERY_LEASE_SECONDS=%s is too short for the %s transport (a send may take %ss): "
                        "nothing can be sent", lease_seconds, delivery.channel, transport.max_send_seconds)
                return
            _process(delivery, transport, run)
            uncommitted.append(delivery_id)
            if not transport.transactional:
                run.commit()  # record a real provider's acceptance at once
                uncommitted.clear()
        except Exception as exc:  # noqa: BLE001 - one bad row must not stall the queue
            _after_crash(delivery_id, exc, run, uncommitted + [d.id for d in rows[index:]])
            return
    try:
        run.commit()
    except Exception as exc:  # noqa: BLE001 - the batch's outcomes could not be stored: give the rows back
        _after_crash(rows[-1].id, exc, run, uncommitted)


def dispatch_once(limit: int | None = None, owner: str | None = None, now: datetime | None = None) -> PassResult:
    """One pass: claim what is due (paced per transport) and send it. Safe to run from several
    processes at once. ``now`` lets tests move the clock."""
    config = current_app.config
    limit = limit or config["DELIVERY_BATCH_SIZE"]
    lease_seconds = config["DELIVERY_LEASE_SECONDS"]
    run = PassRun(owner=owner or f"{worker_id()}:{secrets.token_hex(3)}", now=now or clock.utcnow(),
                  settings=PassSettings.read(), max_attempts=config["DELIVERY_MAX_ATTEMPTS"], result=PassResult())
    paces = paces_from_config(config)
    claim = dict(limit=limit, owner=run.owner, lease_seconds=lease_seconds, now=run.now)
    ids = claim_due_deliveries(exclude_channels=tuple(paces), **claim)
    for channel, pace in paces.items():
        ids += claim_due_deliveries(channel=channel, pace=pace, **claim)
    run.result.claimed = len(ids)
    if ids:
        _run_batch(sorted(ids), run, lease_seconds)
    return run.result


def dispatch_until_idle(max_seconds: float, limit: int | None = None) -> PassResult:
    """Passes back to back while full batches keep coming (a backlog), for at most ``max_seconds``."""
    total = PassResult()
    deadline = time.monotonic() + max_seconds
    batch = limit or current_app.config["DELIVERY_BATCH_SIZE"]
    while True:
        result = dispatch_once(limit=batch)
        for name in TALLIES:
            setattr(total, name, getattr(total, name) + getattr(result, name))
        total.errors += result.errors
        if result.claimed < batch or result.errors or result.released or time.monotonic() >= deadline:
            return total

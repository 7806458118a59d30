"""Parallel guesses cannot beat the lock: each attempt is claimed in the database before it is checked.

These run real requests in parallel threads against a live server (SQLite here, PostgreSQL in
the run with TEST_DATABASE_URL), from ten client addresses as a reverse proxy would report them.
"""
from __future__ import annotations

import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter

from messaging.audit import SYSTEM
from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.delivery.transports.outbox import read_outbox
from messaging.messages import MessageRequest, link_for, send_message
from messaging.models import Message, MessageEvent, OneTimeCode
from seeds.factories import make_contact

BODY = "Parallel body marker PB-2207"
RIGHT_PIN = "2468"
# Slow enough that parallel checks overlap, as argon2 with production parameters does.
SLOW_ARGON2 = {"time_cost": 2, "memory_cost": 8 * 1024, "parallelism": 1}
GUESSES = 20


def _server(make_live_server, **overrides):
    return make_live_server(PROXY_FIX=1, ARGON2_PARAMS=SLOW_ARGON2, **overrides)


def _secure_message(server, **contact_fields) -> tuple[int, str]:
    with server.app.app_context():
        contact = make_contact(**contact_fields)
        message = send_message(MessageRequest(contact=contact, channel="sms", body=BODY, secure=True,
                                              require_pin=True), SYSTEM)
        db.session.commit()
        dispatch_once()
        return message.id, link_for(message)


def _post(url: str, form: dict, address: str) -> tuple[int, str]:
    request = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(), method="POST",
                                     headers={"X-Forwarded-For": address})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _all_at_once(url: str, forms: list[dict]) -> list[tuple[int, str]]:
    """Post every form at the same moment, each from one of ten addresses."""
    barrier = threading.Barrier(len(forms))
    results: list = [None] * len(forms)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = _post(url, forms[i], f"198.51.100.{i % 10 + 1}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(forms))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def _events(server, message_id: int, kind: str) -> list[dict]:
    with server.app.app_context():
        return [e.detail for e in db.session.execute(
            db.select(MessageEvent).filter_by(message_id=message_id, kind=kind)).scalars()]


def test_twenty_parallel_wrong_pins_are_never_checked_more_than_the_limit(make_live_server):
    server = _server(make_live_server)
    message_id, url = _secure_message(server, pin=RIGHT_PIN)
    results = _all_at_once(url, [{"pin": f"{1000 + i}"} for i in range(GUESSES)])

    statuses = [status for status, _html in results]
    assert statuses.count(403) == 4 and statuses.count(423) == 16
    checked = [d for d in _events(server, message_id, "pin_failed") if not d.get("during_lock")]
    assert len(checked) == 5, "more guesses were checked than max_pin_attempts"
    assert sorted(d["attempt"] for d in checked) == [1, 2, 3, 4, 5]
    assert len(_events(server, message_id, "locked")) == 1
    # The right PIN now is refused too: the lock holds.
    status, html = _post(url, {"pin": RIGHT_PIN}, "198.51.100.77")
    assert status == 423 and BODY not in html
    assert _events(server, message_id, "viewed") == []


def test_the_right_pin_hidden_among_parallel_guesses_is_only_checked_within_the_limit(make_live_server):
    server = _server(make_live_server)
    message_id, url = _secure_message(server, pin=RIGHT_PIN)
    forms = [{"pin": f"{1000 + i}"} for i in range(GUESSES)]
    forms[GUESSES - 3] = {"pin": RIGHT_PIN}
    results = _all_at_once(url, forms)

    checked = [d for d in _events(server, message_id, "pin_failed") if not d.get("during_lock")]
    verified = _events(server, message_id, "verified")
    opened = [html for status, html in results if status == 200]
    assert len(opened) == len(verified) <= 1
    assert all(BODY in html for html in opened)
    # Each checked guess carries its claim's number within its lock period. The right PIN, when
    # its claim came within the limit, starts a new period (a right answer clears the counters),
    # so guesses claimed after it may be checked again: never more than the limit per period.
    numbers = Counter(d["attempt"] for d in checked + verified)
    assert set(numbers) <= {1, 2, 3, 4, 5}, numbers
    assert all(count <= 1 + len(verified) for count in numbers.values()), numbers
    if not verified:
        assert len(checked) == 5


def test_parallel_answers_to_one_code_are_checked_three_times_at_most(make_live_server):
    server = _server(make_live_server)
    message_id, url = _secure_message(server)  # no PIN on file: the message opens with a code
    with server.app.app_context():
        email = db.session.get(Message, message_id).contact.email
    assert _post(url + "/code", {}, "198.51.100.1")[0] == 200
    with server.app.app_context():
        dispatch_once()
        code = re.search(r"your code is (\d{6})", read_outbox(email)[-1]["body"]).group(1)
    wrong = [f"{(int(code) + 1 + i) % 10 ** 6:06d}" for i in range(GUESSES)]
    results = _all_at_once(url, [{"code": guess} for guess in wrong])

    assert all(status == 403 for status, _html in results)
    with server.app.app_context():
        assert db.session.execute(db.select(OneTimeCode)).scalar_one().failures == 3
    checked = [d for d in _events(server, message_id, "pin_failed") if d.get("reason") is None]
    assert len(checked) == 3, _events(server, message_id, "pin_failed")
    status, html = _post(url, {"code": code}, "198.51.100.2")
    assert status == 403 and BODY not in html and "too many wrong answers" in html


def test_parallel_code_requests_over_many_links_send_at_most_five_codes_an_hour(make_live_server):
    server = _server(make_live_server)
    with server.app.app_context():
        contact = make_contact()  # no PIN: every link opens with a code
        urls = []
        for i in range(10):
            message = send_message(MessageRequest(contact=contact, channel="sms", body=f"{BODY} {i}", secure=True,
                                                  require_pin=True), SYSTEM)
            db.session.commit()
            urls.append(link_for(message) + "/code")
    barrier = threading.Barrier(len(urls))
    statuses: list = [None] * len(urls)

    def ask(i: int) -> None:
        barrier.wait()
        statuses[i] = _post(urls[i], {}, f"198.51.100.{i + 1}")[0]

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(urls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert statuses.count(200) == 5 and statuses.count(429) == 5
    with server.app.app_context():
        assert len(db.session.execute(db.select(OneTimeCode)).scalars().all()) == 5

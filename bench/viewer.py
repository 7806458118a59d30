"""The client's pages under load: gunicorn on loopback, ``wrk`` (or a Python load generator), SQLite and PostgreSQL.

Each database gets a fresh schema with ``--links`` (10,000) secure messages, one contact each, all
asking for the contact's PIN, and one live viewer session per contact. The app runs under gunicorn
with production argon2 parameters and **its viewer rate limits turned off** (``RATELIMIT_ENABLED``
false: the limits would otherwise answer most of the load with 429s). Scenarios, each for
``--duration`` seconds with ``--connections`` connections, every request on a link of its own:

- static: GET /m/_/static/viewer.css, a file served by the app (the trivial endpoint the others are
  compared with), and GET /healthz (routing plus one database round trip);
- landing: GET /m/<token>, the page a client opens (no cookie: the PIN form);
- pin: POST /m/<token> with the right PIN (argon2 check, a session started, the thread rendered);
- thread: GET /m/<token> with that contact's session cookie (the verified thread at once).

Then the memory of PIN checks under concurrency: the peak RSS of a process running N argon2
hashes at once, for the production parameters and for argon2-cffi's defaults used before.

Run: ``make bench`` or ``.venv/bin/python -m bench.viewer [--sqlite-only] [--duration 8]``.
PostgreSQL: a database of its own (``bench_viewer``), created and dropped on the server named by
``BENCH_POSTGRES_ADMIN_URL`` (default ``postgresql://postgres@127.0.0.1/postgres``).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CONFIG_ENV = "BENCH_VIEWER_CONFIG"
PIN = "2468"
PUBLIC_BASE_URL = "https://bench.example"
BENCH_DB = "bench_viewer"
STATIC = "/m/_/static/viewer.css"


def served_app():
    """gunicorn's entry point (``bench.viewer:served_app()``): the app with the config the bench chose."""
    from app import create_app

    return create_app(json.loads(os.environ[CONFIG_ENV]))


def app_config(url: str) -> dict:
    from cryptography.fernet import Fernet

    return {"SECRET_KEY": "bench-" + os.urandom(16).hex(), "ENCRYPTION_KEYS": [Fernet.generate_key().decode()],
            "SQLALCHEMY_DATABASE_URI": url, "SCHEDULER_ENABLED": False, "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
            # The bench measures the pages, not the limiter: with limits on most requests would be 429s.
            "RATELIMIT_ENABLED": False}


def prepare(config: dict, links: int) -> list[tuple[str, str]]:
    """A fresh schema with ``links`` PIN-protected secure messages; (path, session cookie) for each.

    A few are sent through the core; the rest are copies of their rows with their own ids, public
    ids, contacts and sessions (inserted in bulk: sending 10,000 one by one takes minutes). A copy
    shares its original's ciphertext and wrapped key, which decrypts the same.
    """
    from sqlalchemy import func, insert, select, text

    from app import create_app
    from messaging.audit import SYSTEM
    from messaging.client.sessions import _digest, start_session
    from messaging.db import db
    from messaging.messages import MessageRequest, link_for, send_message
    from messaging.models import Contact, Message, ViewerSession
    from messaging.models.defaults import new_public_id
    from messaging.people.contacts import create_contact
    from messaging.security.passwords import hash_secret
    from seeds import seed

    app = create_app(config)
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.create_all()
        seed()
        pin_hash = hash_secret(PIN)  # one production hash shared by every contact: hashing 10,000 takes minutes
        originals = []
        for n in range(min(links, 20)):
            contact = create_contact(SYSTEM, {"first_name": "Bench", "last_name": f"Client{n}",
                                              "phone": f"+1415{2000000 + n:07d}", "email": f"bench{n}@example.com"},
                                     source="system")
            contact.pin_hash = pin_hash
            message = send_message(MessageRequest(contact=contact, channel="sms", secure=True, require_pin=True,
                                                  body=f"Your results are ready, reference BV-{n}."), SYSTEM)
            start_session(contact, message, "127.0.0.1")
            originals.append(message.id)
        db.session.commit()

        def row_of(table, row_id):
            found = db.session.execute(select(table).where(table.c.id == row_id)).mappings().one()
            return {k: v for k, v in found.items() if k != "id"}

        contacts_t, messages_t, sessions_t = Contact.__table__, Message.__table__, ViewerSession.__table__
        next_contact = db.session.scalar(select(func.max(contacts_t.c.id))) + 1
        next_message = db.session.scalar(select(func.max(messages_t.c.id))) + 1
        session_template = row_of(sessions_t, db.session.scalar(select(func.min(sessions_t.c.id))))
        templates = [(row_of(messages_t, mid), row_of(contacts_t, db.session.get(Message, mid).contact_id))
                     for mid in originals]
        cookies: dict[int, str] = {}
        for chunk_start in range(0, links, 1000):
            new_contacts, new_messages, new_sessions = [], [], []
            for n in range(chunk_start, min(links, chunk_start + 1000)):
                message_row, contact_row = templates[n % len(templates)]
                contact_id, message_id = next_contact + n, next_message + n
                new_contacts.append({**contact_row, "id": contact_id, "last_name": f"Copy{n}",
                                     "phone": f"+1415{3000000 + n:07d}", "email": f"copy{n}@example.com"})
                new_messages.append({**message_row, "id": message_id, "contact_id": contact_id,
                                     "public_id": new_public_id()})
                raw = os.urandom(24).hex()
                cookies[message_id] = raw
                new_sessions.append({**session_template, "token_hash": _digest(raw), "contact_id": contact_id,
                                     "message_id": message_id})
            db.session.execute(insert(contacts_t), new_contacts)
            db.session.execute(insert(messages_t), new_messages)
            db.session.execute(insert(sessions_t), new_sessions)
            db.session.commit()
        if db.engine.dialect.name == "postgresql":  # explicit ids: move the sequences past them
            for table in (contacts_t, messages_t):
                db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                        f"(SELECT max(id) FROM {table.name}))"))
            db.session.commit()
        rows = [(link_for(m).removeprefix(PUBLIC_BASE_URL), cookies[m.id])
                for m in db.session.execute(select(Message).where(Message.id >= next_message)
                                            .order_by(Message.id)).scalars()]
        db.engine.dispose()
    return rows


# --- the server ------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(config: dict, workers: int, port: int) -> subprocess.Popen:
    env = {**os.environ, CONFIG_ENV: json.dumps(config)}
    proc = subprocess.Popen([str(Path(sys.executable).with_name("gunicorn")), "--bind", f"127.0.0.1:{port}",
                             "--workers", str(workers), "--log-level", "warning", "bench.viewer:served_app()"],
                            cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{STATIC}", timeout=2):
                return proc
        except (OSError, urllib.error.URLError):
            if proc.poll() is not None:
                raise SystemExit("gunicorn exited before serving") from None
            time.sleep(0.3)
    stop(proc)
    raise SystemExit("gunicorn did not answer within 60 s")


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def preflight(base: str, rows: list[tuple[str, str]]) -> None:
    """One request of each scenario, on links the load will not use first, answers as a client would see it."""
    path, cookie = rows[-1][0], rows[-2][1]
    checks = [("landing", urllib.request.Request(base + path), "verify_pin"),
              ("pin", urllib.request.Request(base + path, data=f"pin={PIN}".encode(), method="POST"), "thread"),
              ("thread", urllib.request.Request(base + rows[-2][0], headers={"Cookie": f"{cookie_name()}={cookie}"}),
               "thread")]
    for name, req, state in checks:
        with urllib.request.urlopen(req, timeout=30) as response:
            page = response.read().decode()
        if f'data-state="{state}"' not in page:
            raise SystemExit(f"preflight {name}: expected data-state={state}, got {page[:300]!r}")


def cookie_name() -> str:
    from viewer.session_cookie import COOKIE_NAME

    return COOKIE_NAME


# --- load generators --------------------------------------------------------------------------------------

WRK_SCRIPT = r"""
local rows, method, body = {}, os.getenv("BENCH_METHOD"), os.getenv("BENCH_BODY")
local with_cookie = os.getenv("BENCH_COOKIE") == "1"
for line in io.lines(os.getenv("BENCH_ROWS")) do
  local path, cookie = line:match("([^\t]*)\t?(.*)")
  rows[#rows + 1] = {path, cookie}
end
local counter = 0
local threads = 0
function setup(thread)
  thread:set("offset", threads)
  threads = threads + 1
end
function init(args)
  -- each wrk thread walks its own share of the links, so no link is used twice in a run
  counter = (offset or 0) * math.floor(#rows / tonumber(os.getenv("BENCH_THREADS")))
end
function request()
  counter = counter + 1
  local row = rows[(counter % #rows) + 1]
  local headers = {}
  if with_cookie then headers["Cookie"] = os.getenv("BENCH_COOKIE_NAME") .. "=" .. row[2] end
  if method == "POST" then headers["Content-Type"] = "application/x-www-form-urlencoded" end
  return wrk.format(method, row[1], headers, method == "POST" and body or nil)
end
"""

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    found = re.match(r"([\d.]+)(us|ms|s|m)", text)
    if found is None:
        raise SystemExit(f"wrk printed a latency this bench cannot read: {text!r}")
    return float(found.group(1)) * UNITS[found.group(2)]


def run_wrk(base: str, rows_file: Path, method: str, cookie: bool, args) -> dict:
    script = rows_file.with_name("bench.lua")
    script.write_text(WRK_SCRIPT)
    env = {**os.environ, "BENCH_ROWS": str(rows_file), "BENCH_METHOD": method, "BENCH_BODY": f"pin={PIN}",
           "BENCH_COOKIE": "1" if cookie else "0", "BENCH_COOKIE_NAME": cookie_name(),
           "BENCH_THREADS": str(args.threads)}
    out = subprocess.run(["wrk", "-t", str(args.threads), "-c", str(args.connections), "-d", f"{args.duration}s",
                          "--timeout", "10s", "--latency", "-s", str(script), base],
                         env=env, capture_output=True, text=True, check=True).stdout
    if "Requests/sec" not in out or "50%" not in out:
        raise SystemExit("wrk's output lacks its figures:\n" + out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50": _ms(re.search(r"^\s*50%\s+(\S+)", out, re.M).group(1)),
            "p99": _ms(re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1)),
            "requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "bad": int(errors.group(1)) if errors else 0,
            "socket_errors": socket_errors.group(1) if socket_errors else ""}


def run_python(base: str, rows: list[tuple[str, str]], method: str, cookie: bool, args) -> dict:
    """The fallback when wrk is missing: ``--connections`` threads, one keep-alive connection each."""
    import http.client

    host, port = urllib.parse.urlsplit(base).netloc.split(":")
    deadline = time.monotonic() + args.duration
    latencies: list[float] = []
    bad = [0]
    lock = threading.Lock()
    name = cookie_name()

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        mine, n = [], index * (len(rows) // args.connections)
        while time.monotonic() < deadline:
            path, raw = rows[n % len(rows)]
            n += 1
            headers = {"Cookie": f"{name}={raw}"} if cookie else {}
            body = None
            if method == "POST":
                body, headers["Content-Type"] = f"pin={PIN}", "application/x-www-form-urlencoded"
            start = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status < 400
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
            mine.append((time.perf_counter() - start) * 1000)
            if not ok:
                with lock:
                    bad[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.connections)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    pick = (lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]) if latencies else (lambda q: 0.0)
    return {"rps": len(latencies) / elapsed, "p50": pick(0.50), "p99": pick(0.99), "requests": len(latencies),
            "bad": bad[0], "socket_errors": ""}


SCENARIOS = [  # name, what each row contributes, method, with the session cookie
    ("static", "static", "GET", False),
    ("healthz", "healthz", "GET", False),
    ("landing", "links", "GET", False),
    ("pin", "links", "POST", False),
    ("thread", "links", "GET", True),
]


def bench_database(label: str, url: str, args, workdir: Path) -> list[dict]:
    config = app_config(url)
    started = time.monotonic()
    rows = prepare(config, args.links)
    print(f"{label}: {len(rows):,} links prepared in {time.monotonic() - started:.0f} s")
    # The PIN scenario starts a session per request and the thread reads its own: separate link halves,
    # so a thread request never meets a session the PIN scenario made and PIN requests never repeat a link.
    landing_rows = rows[:-2]
    half = len(landing_rows) // 2
    sets = {"static": [(STATIC, "")], "healthz": [("/healthz", "")], "pin": landing_rows[:half],
            "thread": landing_rows[half:], "landing": landing_rows}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_gunicorn(config, args.workers, port)
    results = []
    try:
        preflight(base, rows)
        for name, _kind, method, cookie in SCENARIOS:
            chosen = sets[name]
            if args.wrk:
                rows_file = workdir / f"{label}-{name}.tsv"
                rows_file.write_text("".join(f"{p}\t{c}\n" for p, c in chosen))
                result = run_wrk(base, rows_file, method, cookie, args)
            else:
                result = run_python(base, chosen, method, cookie, args)
            result.update(database=label, scenario=name)
            if name not in ("static", "healthz") and result["requests"] > len(chosen):
                result["note"] = f"{result['requests']:,} requests on {len(chosen):,} links: some repeated"
            results.append(result)
            print(f"  {name:8} {result['rps']:8.0f} req/s  p50 {result['p50']:6.1f} ms  p99 {result['p99']:6.1f} ms"
                  f"  ({result['requests']:,} requests, {result['bad']} not 2xx/3xx{result.get('note', '') and ', '}"
                  f"{result.get('note', '')})", flush=True)
    finally:
        stop(proc)
    return results


# --- PostgreSQL: a database of the bench's own -----------------------------------------------------------

def admin_url() -> str:
    return os.environ.get("BENCH_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1/postgres")


def create_postgres() -> str | None:
    import psycopg

    try:
        with psycopg.connect(admin_url(), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {BENCH_DB}")
    except psycopg.Error as exc:
        print(f"PostgreSQL skipped: {admin_url().rsplit('@', 1)[-1]} refused ({exc.__class__.__name__}).")
        return None
    base = admin_url().rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{BENCH_DB}"


def drop_postgres() -> None:
    import psycopg

    with psycopg.connect(admin_url(), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


# --- argon2 memory under concurrency ---------------------------------------------------------------------

def _vm(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])  # kB
    raise RuntimeError(field)


def argon2_probe(parallel: int, params: dict) -> dict:
    """In this process: N argon2 hashes at once (argon2-cffi releases the GIL); the peak RSS they add."""
    from argon2 import PasswordHasher

    hasher = PasswordHasher(**params)
    hasher.hash("warm-up")  # libraries loaded and one hash's memory seen before the baseline
    before = _vm("VmRSS")
    barrier = threading.Barrier(parallel)
    times: list[float] = []

    def one() -> None:
        barrier.wait()
        start = time.perf_counter()
        hasher.hash(PIN)
        times.append(time.perf_counter() - start)

    threads = [threading.Thread(target=one) for _ in range(parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"parallel": parallel, "peak_mib": (_vm("VmHWM") - before) / 1024, "ms": statistics.median(times) * 1000}


def argon2_memory(levels: list[int]) -> list[dict]:
    from argon2 import PasswordHasher

    from messaging.security.passwords import PRODUCTION_PARAMS

    old = PasswordHasher()
    variants = {"production": PRODUCTION_PARAMS,
                "before (argon2-cffi default)": {"memory_cost": old.memory_cost, "time_cost": old.time_cost,
                                                 "parallelism": old.parallelism}}
    rows = []
    for label, params in variants.items():
        for n in levels:
            # A fresh process each time: VmHWM is a high-water mark and never comes down.
            out = subprocess.run([sys.executable, __file__, "--argon2-probe", str(n), json.dumps(params)],
                                 capture_output=True, text=True, check=True, cwd=ROOT).stdout
            result = json.loads(out)
            result.update(variant=label, m_mib=params["memory_cost"] / 1024, t=params["time_cost"],
                          p=params["parallelism"])
            rows.append(result)
            print(f"  argon2 {label:29} m={result['m_mib']:.0f} MiB t={result['t']} p={result['p']}: "
                  f"{n:3} at once → +{result['peak_mib']:7.1f} MiB RSS (m×N = {result['m_mib'] * n:6.0f} MiB), "
                  f"{result['ms']:6.0f} ms each", flush=True)
    return rows


# --- report ----------------------------------------------------------------------------------------------

def summary(results: list[dict]) -> None:
    print("\n| database | scenario | requests/s | p50 ms | p99 ms | ÷ static file |")
    print("|---|---|---:|---:|---:|---:|")
    for label in dict.fromkeys(r["database"] for r in results):
        mine = [r for r in results if r["database"] == label]
        static = next(r for r in mine if r["scenario"] == "static")["rps"]
        for r in mine:
            print(f"| {label} | {r['scenario']} | {r['rps']:,.0f} | {r['p50']:.1f} | {r['p99']:.1f} | "
                  f"{100 * r['rps'] / static:.0f} % |")


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--argon2-probe":
        print(json.dumps(argon2_probe(int(sys.argv[2]), json.loads(sys.argv[3]))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--links", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=8, help="seconds per scenario")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1, help="gunicorn workers")
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--python-load", action="store_true", help="the Python load generator even when wrk is there")
    parser.add_argument("--memory-levels", default="1,4,16")
    args = parser.parse_args()
    args.wrk = shutil.which("wrk") is not None and not args.python_load
    print(f"Viewer rate limits are OFF for this run (RATELIMIT_ENABLED=false); {args.links:,} links, "
          f"{args.connections} connections, {args.duration} s per scenario, gunicorn with {args.workers} sync "
          f"workers, load from {'wrk' if args.wrk else 'the Python load generator (wrk is not installed)'}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start.", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-viewer-") as tmp:
        workdir = Path(tmp)
        results += bench_database("SQLite", f"sqlite:///{workdir / 'bench.db'}", args, workdir)
        if not args.sqlite_only:
            url = create_postgres()
            if url:
                try:
                    results += bench_database("PostgreSQL", url, args, workdir)
                finally:
                    drop_postgres()
    print("\nMemory of concurrent PIN checks (peak RSS added by N argon2 hashes at once):")
    argon2_memory([int(n) for n in args.memory_levels.split(",")])
    summary(results)


if __name__ == "__main__":
    main()

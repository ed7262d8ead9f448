"""Benchmark: what a request costs, how soon it is answered, and what the daemon holds.

Everything runs the real pieces on the same generated mails: requests from contacts on
file (each account has a team of three, billing items, a contract), a throw-away Dovecot,
aiosmtpd receiving the mail, SQLite and PostgreSQL. It prints one table of figures and
asserts nothing:

 1. parse-only ceiling: the same mails through mail-parser and the stdlib parser;
 2. the request path (store, parse, classify, open the case, acknowledgment, team notices
    and call invitations, timers, sheet rows, file outbox) in requests/s and CPU ms each,
    on SQLite and on PostgreSQL, and in counts the machine's load does not move (SQL
    statements, ORM flushes, mails queued; Python function calls under cProfile);
    3. its ratio to the ceiling;
 4. latency above the server's own push on Dovecot (APPEND -> acknowledgment at the SMTP
    sink, minus APPEND -> EXISTS at a bare IDLE client measured in the same run), p50 and
    p99, singles and pairs 50 ms apart; and what handing one answer to the relay costs on a
    new connection and on one kept open;
 5. start-up with 10,000 pending timers; 6. peak RSS of a daemon reading a backlog with
    25 MB mails; 7. CPU of `canceldesk run` while idle.

    .venv/bin/python bench/pipeline.py [--requests 200] [--repeat 3] [--latency-samples 100]
        [--timers 10000] [--big-mails 3] [--idle-seconds 60] [--postgres URL|none] [--rss-only]
"""
from __future__ import annotations

import argparse
import cProfile
import email
import email.policy
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from daemon.accounts_import import import_rows  # noqa: E402
from daemon.app import make_source  # noqa: E402
from daemon.clock import SystemClock  # noqa: E402
from daemon.db import transaction  # noqa: E402
from daemon.intake import memory  # noqa: E402
from daemon.intake.watcher import Watcher, warm_up  # noqa: E402
from daemon.models import Case, OutboxEntry, Timer, TimerStatus  # noqa: E402
from daemon.timers import scheduler  # noqa: E402
from tests.servers.dovecot import DovecotServer  # noqa: E402
from tests.servers.smtp import SmtpServer  # noqa: E402
from tests.support import REPO, build_test_desk, config_text, mail  # noqa: E402

POSTGRES = os.environ.get("CANCELDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SERVICES = ("SEO", "PPC", "Social")
TEAM = ("sam@agency.example", "pia@agency.example", "sol@agency.example")
REQUESTS = [
    "Hello,\n\nplease cancel our {service} service at the end of the contract.\n\nKind regards,\n{name}\n",
    "Hi team, we have decided to stop the {service} work. Please cancel it.\n\nThanks\n{name}\n",
    "Guten Tag,\n\nbitte kündigen Sie unseren {service}-Vertrag zum nächstmöglichen Termin.\n\n{name}\n",
]


def accounts(count: int, prefix: str) -> list[dict[str, str]]:
    """Accounts on file, each with one contact, a team of three and three billing items."""
    return [{
        "account_id": f"{prefix}{n:05d}", "name": f"Client {prefix}{n} Ltd", "timezone": "Europe/London",
        "contract_start": "2026-02-01", "term_months": "12", "notice_days": "30",
        "account_manager": "amy@agency.example", "team_lead": "tom@agency.example",
        "contacts": f"Contact {n} <{contact(prefix, n)}>",
        "team": "; ".join(f"{s}: {who}" for s, who in zip(SERVICES, TEAM)),
        "billing_items": "; ".join(f"B-{prefix}{n}-{i} {s} {100 + i * 50}.00" for i, s in enumerate(SERVICES)),
    } for n in range(count)]


def contact(prefix: str, n: int) -> str:
    return f"owner{n}@{prefix.lower()}client{n}.example"


def request_mail(prefix: str, n: int) -> bytes:
    body = REQUESTS[n % len(REQUESTS)].format(service=SERVICES[n % len(SERVICES)], name=f"Contact {n}")
    return mail(sender=f"Contact {n} <{contact(prefix, n)}>", subject="Cancellation", body=body)


def desk_for(folder: Path, database: str, *, prefix: str, count: int, **urls):
    folder.mkdir(parents=True, exist_ok=True)
    desk = build_test_desk(folder, database, clock=SystemClock(), **urls)
    with transaction(desk.factory) as session:
        report = import_rows(session, accounts(count, prefix))
    assert not report.problems, report.problems[:3]
    return desk


class PostgresSchemas:
    """A fresh schema per run in the shared PostgreSQL database, each dropped at the end:
    the database is the machine's, and the bench leaves it as it found it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.made: list[str] = []

    def fresh(self) -> str:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        self._run(f"CREATE SCHEMA {schema}")
        self.made.append(schema)
        return f"{self.url}?options=-csearch_path%3D{schema}"

    def drop_all(self) -> None:
        while self.made:
            self._run(f"DROP SCHEMA {self.made.pop()} CASCADE")

    def _run(self, statement: str) -> None:
        engine = sqlalchemy.create_engine(self.url)
        try:
            with engine.begin() as connection:
                connection.execute(sqlalchemy.text(statement))
        finally:
            engine.dispose()


# -- 1. parse-only ceiling -----------------------------------------------------------------

def parse_ceiling(mails: list[bytes]) -> dict[str, float]:
    import mailparser

    figures = {}
    for name, parse in (("mail-parser", mailparser.parse_from_bytes),
                        ("stdlib", lambda raw: email.message_from_bytes(raw, policy=email.policy.default)
                         .get_body(("plain", "html")).get_content())):
        started = time.process_time()
        for raw in mails:
            parse(raw)
        figures[name] = len(mails) / (time.process_time() - started)
    return figures


# -- 2. the request path -------------------------------------------------------------------

@dataclass(frozen=True)
class PathFigures:
    """The request path in time (which the machine's load moves) and in counts (which it does not)."""

    rate: float  # requests/s, wall clock
    cpu_ms: float  # CPU ms per request
    statements: float  # SQL statements per request
    flushes: float  # ORM flushes (unit-of-work passes) per request
    mails: float  # mails queued per request
    desk: object


def backlog_desk(folder: Path, database: str, count: int):
    """A desk with `count` accounts on file and a request from each waiting in its Maildir,
    warmed up as `canceldesk run` is before its first sweep; and its mail source.

    Steady state, as the daemon runs: `run` loads the language model and compiles the
    templates before its first sweep (figure 5's business), `run_once` on the first mail.
    The caller sweeps inside `memory.start_up_objects_set_aside()`, as `run` does."""
    desk = desk_for(folder, database, prefix="R", count=count)
    inbox = desk.config.path("inbox")
    for sub in ("tmp", "new", "cur"):
        (inbox / sub).mkdir(parents=True, exist_ok=True)
    for n in range(count):
        (inbox / "new" / f"{n:06d}.bench").write_bytes(request_mail("R", n))
    warm_up(desk)
    return desk, make_source(desk.config)


def request_path(folder: Path, database: str, count: int, profile: Path | None) -> PathFigures:
    """Requests/s (wall), CPU ms, SQL statements and mails queued per request, for `count`
    requests read from a Maildir."""
    desk, source = backlog_desk(folder, database, count)
    profiler = cProfile.Profile(time.process_time) if profile else None
    statements, flushes = [0], [0]
    count_statement = lambda *_: statements.__setitem__(0, statements[0] + 1)  # noqa: E731
    count_flush = lambda *_: flushes.__setitem__(0, flushes[0] + 1)  # noqa: E731
    sqlalchemy.event.listen(desk.engine, "before_cursor_execute", count_statement)
    sqlalchemy.event.listen(desk.factory, "before_flush", count_flush)
    with memory.start_up_objects_set_aside():
        wall, cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        report = Watcher(desk, source).run_once()
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    sqlalchemy.event.remove(desk.engine, "before_cursor_execute", count_statement)
    sqlalchemy.event.remove(desk.factory, "before_flush", count_flush)
    if report.processed != count:
        print(f"  (warning: {report.processed} of {count} processed)")
    with transaction(desk.factory) as session:
        mails = session.scalar(sqlalchemy.select(sqlalchemy.func.count(OutboxEntry.id)))
    return PathFigures(count / wall, 1000 * cpu / count, statements[0] / count, flushes[0] / count, mails / count, desk)


def calls_per_request(folder: Path, count: int) -> float:
    """Python function calls per request on SQLite, under cProfile: the path's work in a count
    that the machine's speed and load do not move, to compare two versions run at different times."""
    profile = folder / "calls.prof"
    figures = request_path(folder, f"sqlite:///{folder / 'calls.db'}", count, profile)
    figures.desk.engine.dispose()
    return pstats.Stats(str(profile)).total_calls / count


# -- 4. latency on Dovecot -----------------------------------------------------------------

class Appender:
    """One logged-in connection that APPENDs, as a delivering MTA's LMTP would: a login per
    mail would put the server's password hashing into every figure."""

    def __init__(self, user) -> None:
        from imapclient import IMAPClient

        self.client = IMAPClient("127.0.0.1", user.server.port, ssl=False, timeout=30)
        self.client.login(user.name, user.password)

    def append(self, raw: bytes, folder: str = "INBOX") -> float:
        """APPEND `raw`; returns the moment just before it was sent."""
        started = time.perf_counter()
        self.client.append(folder, raw)
        return started

    def close(self) -> None:
        self.client.logout()


def idle_floor(user, samples: int) -> list[float]:
    """APPEND -> EXISTS seen by a bare IMAPClient in IDLE: what the server itself costs."""
    from imapclient import IMAPClient

    client = IMAPClient("127.0.0.1", user.server.port, ssl=False, timeout=30)
    client.login(user.name, user.password)
    client.create_folder("Floor")
    client.select_folder("Floor")
    appender = Appender(user)
    figures = []
    for n in range(samples):
        client.idle()
        started = appender.append(mail(sender=f"floor{n}@freemail.example"), folder="Floor")
        while not any(len(r) > 1 and r[1] == b"EXISTS" for r in client.idle_check(timeout=10)):
            pass
        figures.append(time.perf_counter() - started)
        client.idle_done()
    appender.close()
    client.logout()
    return figures


def daemon_latency(folder: Path, server: DovecotServer, samples: int) -> tuple[list[float], list[float]]:
    """APPEND -> acknowledgment received, for single requests and for pairs 50 ms apart, from
    `canceldesk run` in its own process (as deployed: the sink's work is not the daemon's)."""
    user = server.add_user()
    with SmtpServer() as smtp:
        config = daemon_config(folder, user, smtp)  # poll_seconds left at its default
        desk_for(folder, f"sqlite:///{folder / 'canceldesk.db'}", prefix="L", count=samples + 1).engine.dispose()
        process = subprocess.Popen([sys.executable, "-m", "daemon", "--config", str(config), "run"], cwd=REPO,
                                   env={**os.environ, "CANCELDESK_IMAP_PASSWORD": user.password},
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        appender = Appender(user)
        try:
            # Steady state, not start-up (5. measures that): one request answered, then idling.
            _single(appender, smtp, samples, timeout=120)
            time.sleep(1.0)
            singles, pairs = [], []
            n = 0
            while n < samples:
                if n % 2 == 0 and n + 1 < samples and n % 4 == 2:
                    pairs += _pair(appender, smtp, n)
                    n += 2
                else:
                    singles.append(_single(appender, smtp, n))
                    n += 1
                time.sleep(0.1)
        finally:
            appender.close()
            process.terminate()
            process.wait(timeout=60)
    return singles, pairs


def _single(appender: Appender, smtp, n: int, timeout: float = 70) -> float:
    started = appender.append(request_mail("L", n))
    return _answered(smtp, contact("L", n), started, timeout)


def _pair(appender: Appender, smtp, n: int) -> list[float]:
    first = appender.append(request_mail("L", n))
    time.sleep(0.05)
    second = appender.append(request_mail("L", n + 1))
    return [_answered(smtp, contact("L", n), first), _answered(smtp, contact("L", n + 1), second)]


def _answered(smtp, address: str, started: float, timeout: float = 70) -> float:
    """Seconds from `started` to the moment the sink had the whole acknowledgment."""
    recorder = smtp._recorder  # the sink's condition: woken at each arrival, no polling
    arrival = lambda: next((m.arrived for m in recorder.received if address in m.rcpt_tos), None)  # noqa: E731
    with recorder.condition:
        recorder.condition.wait_for(lambda: arrival() is not None, timeout)
        arrived = arrival()
    return (arrived if arrived is not None else time.perf_counter()) - started


def relay_handover(samples: int) -> tuple[float, float]:
    """Median ms to hand one mail to the relay in a session of its own, as an answer sent
    the moment it is committed is: on a new connection each time, and on the connection
    the last session left open (checked with a NOOP)."""
    from integrations.smtp import SmtpSender

    raw = mail(sender="desk@agency.example", subject="Your cancellation request", body="We have it.\n")
    figures = []
    with SmtpServer() as smtp:
        for keep_open in (0.0, 60.0):
            sender = SmtpSender(smtp.host, smtp.port, security="none", keep_open=keep_open)
            times = []
            for _ in range(samples + 1):
                started = time.perf_counter()
                with sender.session() as session:
                    session.send_raw(raw)
                times.append(time.perf_counter() - started)
            sender.close()
            figures.append(1000 * statistics.median(times[1:]))  # the first opens it either way
    return figures[0], figures[1]


# -- 5. start-up with pending timers -------------------------------------------------------

def startup(desk, count: int) -> tuple[float, float]:
    """Seconds for the scheduler to start with `count` pending timers: the first time (an
    empty job store), then a restart (the store as the daemon left it)."""
    with transaction(desk.factory) as session:
        case_ids = list(session.scalars(Case.__table__.select().with_only_columns(Case.id)))
        due = datetime.now(UTC) + timedelta(days=400)
        session.execute(Timer.__table__.insert(), [
            {"case_id": case_ids[n % len(case_ids)], "kind": "bench", "seq": n, "due_at": due + timedelta(minutes=n),
             "status": TimerStatus.PENDING.value, "data": {}, "created_at": due, "outcome": ""}
            for n in range(count)])
    figures = []
    for _ in range(2):
        started = time.perf_counter()
        scheduler.start(desk)
        figures.append(time.perf_counter() - started)
        scheduler.stop(desk)
    return figures[0], figures[1]


# -- 6. peak RSS, 7. idle CPU: a daemon in its own process ---------------------------------

def daemon_config(folder: Path, user, smtp) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    path.write_text(config_text(f"sqlite:///{folder / 'canceldesk.db'}",
                                mailbox_url=f"imap://{user.name}@127.0.0.1:{user.server.port}/INBOX?starttls=no",
                                smtp_url=f"smtp://127.0.0.1:{smtp.port}?starttls=no"))
    return path


def peak_rss(folder: Path, server: DovecotServer, big: int) -> tuple[float, int]:
    user = server.add_user()
    attachment = os.urandom(25 * 1024 * 1024 * 3 // 4)  # 25 MB once base64-encoded
    for n in range(20):
        user.append(mail(sender=f"small{n}@freemail.example", subject="Cancel", body="Please cancel my account.\n"))
    for n in range(big):
        user.append(_with_attachment(f"big{n}@freemail.example", attachment))
    with SmtpServer() as smtp:
        config = daemon_config(folder, user, smtp)
        # VmHWM, the peak of this process's own memory: ru_maxrss keeps the high-water mark
        # across exec, so it would report the bench process's size at the fork when larger.
        code = ("import sys; from daemon.cli import main; main(['--config', sys.argv[1], 'run', '--once']);"
                "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])")
        done = subprocess.run([sys.executable, "-c", code, str(config)], cwd=REPO, capture_output=True, text=True,
                              env={**os.environ, "CANCELDESK_IMAP_PASSWORD": user.password}, timeout=600)
    return int(done.stdout.split()[-1]) / 1024, 20 + big


def _with_attachment(sender: str, data: bytes) -> bytes:
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "cancel@agency.example", "Cancel, signed form attached"
    msg.set_content("Please cancel my account; the signed form is attached.\n")
    msg.add_attachment(data, maintype="application", subtype="pdf", filename="form.pdf")
    return msg.as_bytes()


def idle_cpu(folder: Path, server: DovecotServer, seconds: float) -> float:
    user = server.add_user()
    with SmtpServer() as smtp:
        config = daemon_config(folder, user, smtp)
        process = subprocess.Popen([sys.executable, "-m", "daemon", "--config", str(config), "run"], cwd=REPO,
                                   env={**os.environ, "CANCELDESK_IMAP_PASSWORD": user.password},
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(5)  # start-up and the first sweep are not idling
            before = _cpu_seconds(process.pid)
            time.sleep(seconds)
            used = _cpu_seconds(process.pid) - before
        finally:
            process.terminate()
            process.wait(timeout=60)
    return 100 * used / seconds


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the table ---------------------------------------------------------------------------

def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def show_latency(show, folder: Path, server, samples: int) -> None:
    """Figure 4: the daemon's delay above a bare IDLE client's, singles and pairs together."""
    floor = idle_floor(server.add_user(), 30)
    singles, pairs = daemon_latency(folder, server, samples)
    base = statistics.median(floor)
    both = singles + pairs
    show("4. bare IDLE client floor, p50 / p99", f"{base * 1000:.1f} / {percentile(floor, .99) * 1000:.1f} ms")
    show(f"4. above the floor, all {len(both)} (p50 / p99)",
         f"{(statistics.median(both) - base) * 1000:.0f} / {(percentile(both, .99) - base) * 1000:.0f} ms")
    if pairs:
        show(f"4. above the floor, {len(pairs)} in pairs 50 ms apart (p50 / max)",
             f"{(statistics.median(pairs) - base) * 1000:.0f} / {(max(pairs) - base) * 1000:.0f} ms")


def request_paths(show, folder: Path, databases, args, ceiling: dict[str, float]):
    """Figures 2 and 3 on each database; returns the desk of the last SQLite run, for figure 5."""
    sqlite_desk = None
    for label, fresh_url in databases:
        runs: list[PathFigures] = []
        for run in range(max(1, args.repeat)):
            if runs:
                runs[-1].desk.engine.dispose()
            profile = args.profile if label == "SQLite" and run == 0 else None
            runs.append(request_path(folder / f"{label}{run}", fresh_url(run), args.requests, profile))
        figures = min(runs, key=lambda figures: figures.cpu_ms)
        rate, desk = figures.rate, runs[-1].desk
        show(f"2. request path, {label}, best of {len(runs)}", f"{rate:,.1f} requests/s, {figures.cpu_ms:.1f} ms CPU each")
        if len(runs) > 1:
            show(f"2. the same, median of {len(runs)}",
                 f"{statistics.median(r.rate for r in runs):,.1f} requests/s, "
                 f"{statistics.median(r.cpu_ms for r in runs):.1f} ms CPU each")
        show(f"2. the same, in counts per request, {label}",
             f"{figures.statements:.1f} SQL statements, {figures.flushes:.1f} flushes, {figures.mails:.1f} mails queued")
        if label == "SQLite":
            calls = calls_per_request(folder / "calls", min(args.requests, 50))
            show("2. Python function calls per request, SQLite", f"{calls:,.0f}")
        show(f"3. ratio to the mail-parser ceiling, {label}", f"{100 * rate / ceiling['mail-parser']:.2f} %")
        if label == "SQLite":
            sqlite_desk = desk
        else:
            desk.engine.dispose()
    return sqlite_desk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests through the real path (per database)")
    parser.add_argument("--latency-samples", type=int, default=100)
    parser.add_argument("--timers", type=int, default=10_000, help="0 skips figure 5")
    parser.add_argument("--big-mails", type=int, default=3, help="25 MB mails in the RSS backlog")
    parser.add_argument("--idle-seconds", type=float, default=60, help="0 skips figure 7")
    parser.add_argument("--postgres", default=POSTGRES, help="SQLAlchemy URL, or 'none' to skip")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of the request path per database: a shared machine's speed moves from minute to minute")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the SQLite request path here")
    parser.add_argument("--rss-only", action="store_true", help="figure 6 alone")
    args = parser.parse_args()
    rows: list[tuple[str, str]] = []
    show = lambda label, value: (rows.append((label, value)), print(f"{label:<58} {value}", flush=True))  # noqa: E731
    if args.rss_only:
        with tempfile.TemporaryDirectory(prefix="cd-bench-") as tmp, DovecotServer() as server:
            rss, mails_in_backlog = peak_rss(Path(tmp) / "rss", server, args.big_mails)
        show(f"6. peak RSS, backlog of {mails_in_backlog} incl. {args.big_mails} x 25 MB", f"{rss:.1f} MiB")
        return
    with tempfile.TemporaryDirectory(prefix="cd-bench-") as tmp, DovecotServer() as server:
        folder = Path(tmp)
        mails = [request_mail("R", n) for n in range(args.requests)]
        ceiling = parse_ceiling(mails)
        for name, rate in ceiling.items():
            show(f"1. parse only, {name}", f"{rate:,.0f} mails/s")
        # Each run on a database of its own: a fresh SQLite file, a fresh PostgreSQL schema.
        databases = [("SQLite", lambda run: f"sqlite:///{folder / f'path{run}.db'}")]
        schemas = PostgresSchemas(args.postgres)
        if args.postgres != "none":
            databases.append(("PostgreSQL", lambda run: schemas.fresh()))
        try:
            sqlite_desk = request_paths(show, folder, databases, args, ceiling)
        finally:
            schemas.drop_all()
        if args.latency_samples:
            show_latency(show, folder / "latency", server, args.latency_samples)
        fresh, kept = relay_handover(50)
        show("4. one answer handed to the relay, new connection / kept open", f"{fresh:.2f} / {kept:.2f} ms")
        if sqlite_desk is not None:
            if args.timers > 0:
                first, again = startup(sqlite_desk, args.timers)
                show(f"5. start-up with {args.timers:,} pending timers, first / restart", f"{first:.2f} / {again:.2f} s")
            sqlite_desk.engine.dispose()
        rss, mails_in_backlog = peak_rss(folder / "rss", server, args.big_mails)
        show(f"6. peak RSS, backlog of {mails_in_backlog} incl. {args.big_mails} x 25 MB", f"{rss:.0f} MiB")
        if args.idle_seconds > 0:
            show(f"7. idle CPU over {args.idle_seconds:.0f} s", f"{idle_cpu(folder / 'idle', server, args.idle_seconds):.2f} %")
    if args.profile:
        pstats.Stats(str(args.profile)).sort_stats("cumulative").print_stats(25)
    print(f"(bench process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)")


if __name__ == "__main__":
    main()

"""Proof harness: kill the desk, run two of it, feed its parsers garbage; then count.

Not a test: it runs the real pieces (a throw-away Dovecot, aiosmtpd, PostgreSQL and
`canceldesk run` in its own processes), takes bounded time, and prints one table.

 (a) kill loop: `canceldesk run` is SIGKILLed again and again while it works through a
     mixed backlog (requests from distinct senders, resends of the same Message-ID,
     auto-replies, and requests from contacts on file that staff then decide and approve
     by mail through a two-step chain, so their rows reach the billing, offboarding and
     planner sheets while the kills go on); then counts: cases = distinct requesters,
     each answer received once (a resend of the same Message-ID counted apart), INBOX
     empty, nothing set aside, each approved case's sheet rows present once.
 (b) two daemons on one PostgreSQL database and mailbox, the leader killed mid-way:
     doubled answers and cases, and how long until the other one leads.
 (c) the parsers under hypothesis for a bounded time: exceptions that escape, and the
     slowest mail.

    .venv/bin/pip install -e '.[bench]'     # hypothesis, for (c)
    .venv/bin/python bench/proof.py [--mails 500] [--kills 20] [--parsers-seconds 600]
        [--accounts 40] [--postgres URL] [--parts a,b,c] [--keep-logs DIR]
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from email.utils import getaddresses, make_msgid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import sqlalchemy  # noqa: E402

from tests.servers.dovecot import DovecotServer  # noqa: E402
from tests.servers.smtp import SmtpServer  # noqa: E402
from tests.support import config_text, mail  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
AUTO_REPLY = {"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"}
# Staff mail as our receiving server marks it (the config trusts this authserv-id).
STAFF_AUTH = "mx.agency.example; dkim=pass header.d=agency.example; spf=pass smtp.mailfrom=agency.example"
# The chain the approved cases go through, and who answers each step (tests/support's staff).
APPROVERS = (("retention", "amy"), ("director", "dana"))
PROOF_CONFIG = f"""
[auth]
authserv_ids = ["mx.agency.example"]
verify_dkim_locally = false

[approvals]
chain = {[role for role, _ in APPROVERS]!r}
""".replace("'", '"')
ACCOUNT_COLUMNS = ("account_id,name,timezone,contract_start,term_months,notice_days,account_manager,team_lead,"
                   "contacts,team,billing_items")


# -- the mail and the world -----------------------------------------------------------------


def backlog(count: int, rng: random.Random, contacts: dict[str, str] | None = None
            ) -> tuple[list[bytes], set[str], dict[str, str]]:
    """Mixed mail: new requests, resends of an earlier Message-ID, auto-replies, and one
    request from each contact on file in `contacts` (address -> account); also returns the
    contacts' requests' Message-IDs (address -> Message-ID), for staff to answer."""
    mails, requesters, sent_ids = [], set(), []
    contact_requests = {}
    pending_contacts = list(contacts or {})
    for n in range(count):
        roll = rng.random()
        if pending_contacts and rng.random() < len(pending_contacts) / max(1, count - n):
            sender = pending_contacts.pop()
            message_id = make_msgid(domain=sender.partition("@")[2])
            mails.append(mail(sender=sender, subject="Ending our contract",
                              body="Hello,\n\nplease cancel our SEO and PPC services with you.\n\nThanks\n",
                              message_id=message_id))
            requesters.add(sender)
            contact_requests[sender] = message_id
            continue
        if roll < 0.1 and sent_ids:
            mails.append(sent_ids[rng.randrange(len(sent_ids))][1])  # the same mail again
            continue
        if roll < 0.2:
            mails.append(mail(sender=f"Out of office <ooo{n}@partner.example>", subject="Automatic reply",
                              body="I am out of the office until Monday.\n", headers=AUTO_REPLY))
            continue
        sender = f"customer{n}@freemail.example"
        raw = mail(sender=f"Customer {n} <{sender}>", subject=f"Cancellation {n}",
                   body=f"Please cancel all our services with you, customer {n}.\n",
                   message_id=make_msgid(domain="freemail.example"))
        requesters.add(sender)
        sent_ids.append((sender, raw))
        mails.append(raw)
    return mails, requesters, contact_requests


def accounts_csv(count: int) -> tuple[str, dict[str, str]]:
    """`count` accounts past their initial term (no early-termination step), two billed
    services each; and their contacts (address -> account)."""
    lines, contacts = [ACCOUNT_COLUMNS], {}
    for i in range(count):
        key, contact = f"PROOF-{i:03d}", f"owner@client{i:03d}.example"
        contacts[contact] = key
        lines.append(f'{key},Client {i:03d},Europe/London,2024-01-01,12,30,amy@agency.example,tom@agency.example,'
                     f'"{contact}","SEO: sam@agency.example; PPC: pia@agency.example",'
                     f'"B-{i:03d}-1 SEO 500.00; B-{i:03d}-2 PPC 250.00"')
    return "\n".join(lines) + "\n", contacts


def staff_mail(who: str, answering: str, subject: str, body: str) -> bytes:
    """`who` replying to the mail `answering` with commands, as our server delivers it."""
    return mail(sender=f"{who.capitalize()} <{who}@agency.example>", subject=subject, body=body + f"\n{who}\n",
                message_id=make_msgid(domain="agency.example"),
                headers={"Authentication-Results": STAFF_AUTH, "In-Reply-To": answering, "References": answering})


class World:
    """Dovecot, aiosmtpd, a PostgreSQL schema and a config file, for one part of the proof."""

    def __init__(self, folder: Path, postgres: str) -> None:
        self.folder = folder
        self.dovecot = DovecotServer().start()
        self.user = self.dovecot.add_user()
        self.smtp = SmtpServer()
        self.smtp.start()
        self.engine = sqlalchemy.create_engine(postgres)
        self.schema = f"proof_{uuid.uuid4().hex[:10]}"
        with self.engine.begin() as connection:
            connection.execute(sqlalchemy.text(f"CREATE SCHEMA {self.schema}"))
        url = f"{postgres}?options=-csearch_path%3D{self.schema}"
        self.db = sqlalchemy.create_engine(url)
        self.config = folder / "config.toml"
        self.config.write_text(config_text(
            url, mailbox_url=f"imap://{self.user.name}@127.0.0.1:{self.dovecot.port}/INBOX?starttls=no",
            smtp_url=f"smtp://127.0.0.1:{self.smtp.port}?starttls=no", extra=PROOF_CONFIG,
        ).replace("poll_seconds = 30", "poll_seconds = 2"))

    def import_accounts(self, text: str) -> None:
        path = self.folder / "accounts.csv"
        path.write_text(text, encoding="utf-8")
        subprocess.run([sys.executable, "-m", "daemon", "--config", str(self.config), "accounts", "import", str(path)],
                       cwd=REPO, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self, name: str) -> subprocess.Popen:
        env = {**os.environ, "CANCELDESK_IMAP_PASSWORD": self.user.password}
        err = open(self.folder / f"{name}.log", "ab")
        return subprocess.Popen([sys.executable, "-m", "daemon", "--config", str(self.config), "run"],
                                cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=err)

    def wait_for_log(self, name: str, words: str, *, seen: int, seconds: float = 120) -> None:
        """Until `words` appear in the log more than `seen` times (each start logs them once)."""
        deadline = time.monotonic() + seconds
        while self.log(name).count(words) <= seen and time.monotonic() < deadline:
            time.sleep(0.1)

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def scalar(self, sql: str) -> int:
        with self.db.connect() as connection:
            return int(connection.execute(sqlalchemy.text(sql)).scalar() or 0)

    def settled(self) -> bool:
        try:
            return self._settled()
        except sqlalchemy.exc.ProgrammingError:
            return False  # not migrated yet

    def _settled(self) -> bool:
        waiting = self.scalar("SELECT count(*) FROM inbound_messages WHERE status IN ('received', 'failed')")
        unsent = self.scalar("SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending') "
                             "AND not_before <= now() + interval '5 minutes'")
        return waiting == 0 and unsent == 0 and self.inbox_count() == 0

    def inbox_count(self) -> int:
        from imapclient import IMAPClient

        with IMAPClient("127.0.0.1", self.dovecot.port, ssl=False) as client:
            client.login(self.user.name, self.user.password)
            client.select_folder("INBOX", readonly=True)
            return len(client.search())

    def counts(self, requesters: set[str]) -> dict[str, object]:
        received = self.smtp.messages
        ids = Counter(_header(m, "Message-ID") for m in received)
        # One mail per recipient, subject and parent: a second one with a new Message-ID is
        # the same answer written twice.
        by_answer = Counter((_header(m, "To"), _header(m, "Subject"), _header(m, "In-Reply-To"))
                            for m in {_header(m, "Message-ID"): m for m in received}.values())
        answered = {address.lower() for m in received for _, address in getaddresses([_header(m, "To")])}
        return {
            "requesters": len(requesters), "cases": self.scalar("SELECT count(*) FROM cases"),
            "requesters never answered": len({r.lower() for r in requesters} - answered),
            "mails received": len(received),
            "resends (same Message-ID)": sum(n - 1 for n in ids.values()),
            "doubled answers (new Message-ID)": sum(n - 1 for n in by_answer.values()),
            "set aside": self.scalar("SELECT count(*) FROM inbound_messages WHERE status = 'set_aside'"),
            "INBOX left": self.inbox_count(),
        }

    def sheet_counts(self, accounts: int) -> dict[str, object]:
        """The workbook's rows: each approved case's billing items, offboarding and planner row, once."""
        import openpyxl

        approved = self.scalar("SELECT count(DISTINCT case_id) FROM case_events WHERE kind = 'state:approved'")
        path = self.folder / "sheets.xlsx"
        book = openpyxl.load_workbook(path, read_only=True) if path.exists() else None
        rows, doubled = {}, 0
        for title, key_columns in (("Billing", 2), ("Offboarding", 1), ("Planner", 1)):
            keys = ([tuple(row[:key_columns]) for row in book[title].iter_rows(min_row=2, values_only=True)
                     if any(row)] if book is not None and title in book.sheetnames else [])
            rows[title] = len(set(keys))
            doubled += len(keys) - len(set(keys))
        return {
            "cases approved by mail": f"{approved} of {accounts}",
            "sheet rows billing / offboarding / planner": "{Billing} / {Offboarding} / {Planner}".format(**rows),
            "sheet rows expected": f"{2 * accounts} / {accounts} / {accounts}",
            "sheet rows doubled": doubled,
        }

    def keep_logs_if(self, counts: dict[str, object], requesters: set[str], keep: str) -> None:
        """Something doubled, lost or left: the daemons' logs are copied out before the folder goes."""
        off = (counts["cases"] != len(requesters) or counts["doubled answers (new Message-ID)"]
               or counts["set aside"] or counts["INBOX left"] or counts["requesters never answered"]
               or counts.get("sheet rows doubled")
               or counts.get("sheet rows billing / offboarding / planner", "") != counts.get("sheet rows expected", ""))
        if off and keep:
            import shutil

            target = Path(keep) / f"kept-{self.folder.name}"
            shutil.copytree(self.folder, target, ignore=shutil.ignore_patterns("*.db", "maildir*"))
            print(f"(logs of {self.folder.name} kept in {target})", file=sys.stderr)

    def close(self) -> None:
        self.smtp.stop()
        self.dovecot.stop()
        self.db.dispose()
        with self.engine.begin() as connection:
            connection.execute(sqlalchemy.text(f"DROP SCHEMA {self.schema} CASCADE"))
        self.engine.dispose()


def _header(received, name: str) -> str:
    return str(received.message.get(name, "")).strip()


def wait_settled(world: World, seconds: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if world.settled():
            break
        time.sleep(1)
    return time.monotonic() - started


# -- (a) kill loop --------------------------------------------------------------------------


def kill_loop(args, rng: random.Random) -> dict[str, object]:
    accounts, contacts = accounts_csv(args.accounts)
    mails, requesters, requests = backlog(args.mails, rng, contacts)
    # The backlog, then each staff round (decide, then each approval step) once the round
    # before it has settled: each round's mails are in the inbox while the daemon is killed.
    rounds = [mails, [staff_mail("amy", requests[c], f"Re: Ending our contract ({contacts[c]})",
                                 "#reason price: too expensive\n#cancel SEO, PPC") for c in sorted(requests)]]
    rounds += [[staff_mail(who, requests[c], f"Re: Ending our contract ({contacts[c]}, {role})", "#approve")
                for c in sorted(requests)] for role, who in APPROVERS]
    # Half the kills or more during the backlog, the rest spread evenly over the staff rounds.
    staff_rounds = len(rounds) - 1
    per_staff_round = args.kills // (2 * staff_rounds)
    kills_per_round = [args.kills - per_staff_round * staff_rounds] + [per_staff_round] * staff_rounds
    with tempfile.TemporaryDirectory(prefix="cd-proof-a-") as tmp:
        world = World(Path(tmp), args.postgres)
        try:
            world.import_accounts(accounts)
            daemon, kills, drained = world.start("a"), 0, 0.0
            for round_mails, round_kills in zip(rounds, kills_per_round):
                for raw in round_mails:
                    world.user.append(raw)
                for _ in range(round_kills):
                    # Killed at work, not while importing.
                    world.wait_for_log("a", "canceldesk is watching", seen=kills)
                    time.sleep(rng.uniform(0.2, 2.0))
                    daemon.send_signal(signal.SIGKILL)
                    daemon.wait()
                    kills += 1
                    daemon = world.start("a")
                # Entries claimed when the daemon was killed wait out their lease (3 minutes), then go.
                drained = wait_settled(world, args.settle_seconds)
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=30)
            counts = {**world.counts(requesters), **world.sheet_counts(len(requests))}
            world.keep_logs_if(counts, requesters, args.keep_logs)
            return {"SIGKILLs": kills, **counts, "drain after the last kill (s)": round(drained)}
        finally:
            world.close()


# -- (b) two daemons ------------------------------------------------------------------------


def two_daemons(args, rng: random.Random) -> dict[str, object]:
    mails, requesters, _ = backlog(args.mails, rng)
    with tempfile.TemporaryDirectory(prefix="cd-proof-b-") as tmp:
        world = World(Path(tmp), args.postgres)
        try:
            daemons = {"b1": world.start("b1")}
            world.wait_for_log("b1", "is the leader", seen=0)
            daemons["b2"] = world.start("b2")
            half = len(mails) // 2
            for raw in mails[:half]:
                world.user.append(raw)
            time.sleep(rng.uniform(1, 4))  # the leader killed mid-way through its half
            leader = next(name for name in daemons if "is the leader" in world.log(name))
            other = next(name for name in daemons if name != leader)
            daemons[leader].send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            daemons[leader].wait()
            for raw in mails[half:]:
                world.user.append(raw)
            takeover = None
            while time.monotonic() - killed_at < 60:
                if "is the leader" in world.log(other):
                    takeover = time.monotonic() - killed_at
                    break
                time.sleep(0.2)
            drained = wait_settled(world, args.settle_seconds)
            daemons[other].send_signal(signal.SIGTERM)
            daemons[other].wait(timeout=30)
            counts = world.counts(requesters)
            world.keep_logs_if(counts, requesters, args.keep_logs)
            return {**counts, "takeover (s)": round(takeover, 1) if takeover is not None else "none in 60 s",
                    "drain after the kill (s)": round(drained)}
        finally:
            world.close()


# -- (c) parsers under hypothesis -----------------------------------------------------------


def parsers_fuzz(args) -> dict[str, object]:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from parsers.commands import own_commands
    from parsers.intent import classify_intent
    from parsers.message import parse_message

    header_text = st.text(st.characters(codec="utf-8"), max_size=200)
    encoded = st.builds(lambda t: f"=?utf-8?q?{t.encode().hex('=')}?=" if t else "", header_text)
    header_value = st.one_of(header_text, encoded, st.sampled_from([
        "amy@agency.example <evil@x.example>", "=?utf-8?q?=0D=0A?= <a@b.example>", "<>", "\x00", "a@b, c@d"]))
    bodies = st.one_of(st.binary(max_size=4000), st.text(max_size=4000).map(str.encode),
                       st.integers(0, 3000).map(lambda d: _nested(d)))
    worst, escaped, count = [0.0], [], [0]
    deadline = time.monotonic() + args.parsers_seconds

    # Rounds of a few hundred examples until the time is up: an exception raised to stop
    # hypothesis mid-run is taken for a finding (replayed, then reported as flaky).
    @settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.dictionaries(st.sampled_from(["From", "Subject", "Message-ID", "To", "Content-Type", "Date"]),
                           header_value), bodies)
    def one(headers, body):
        if time.monotonic() > deadline:
            return
        raw = "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode("utf-8", "surrogateescape") + b"\r\n" + body
        started = time.perf_counter()
        try:
            parsed = parse_message(raw)
            own_commands(parsed.text)
            classify_intent(parsed.subject, parsed.new_text or parsed.text)
        except Exception as exc:  # the finding itself: counted, not raised
            escaped.append(f"{type(exc).__name__}: {exc}"[:200])
        worst[0] = max(worst[0], time.perf_counter() - started)
        count[0] += 1

    while time.monotonic() < deadline:
        one()
    return {"mails": count[0], "exceptions escaped": len(escaped), "slowest mail (ms)": round(worst[0] * 1000),
            **({"first exception": escaped[0]} if escaped else {})}


def _nested(depth: int) -> bytes:
    opening = b"".join(f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'.encode()
                       for i in range(depth))
    return opening + b"Content-Type: text/plain\r\n\r\nPlease cancel.\r\n"


# -- the table --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mails", type=int, default=500)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--accounts", type=int, default=40,
                        help="(a): contacts on file whose requests staff decide and approve by mail")
    parser.add_argument("--parsers-seconds", type=float, default=600)
    parser.add_argument("--settle-seconds", type=float, default=300, help="bound on each drain")
    parser.add_argument("--postgres", default=DEFAULT_PG)
    parser.add_argument("--parts", default="a,b,c")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--keep-logs", default=tempfile.gettempdir(),
                        help="where the daemons' logs are copied when a count is off ('' to drop them)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    parts = {"a": ("(a) kill loop", lambda: kill_loop(args, rng)),
             "b": ("(b) two daemons, leader killed", lambda: two_daemons(args, rng)),
             "c": ("(c) parsers under hypothesis", lambda: parsers_fuzz(args))}
    print("| part | figure | value |\n| --- | --- | --- |")
    for key in args.parts.split(","):
        title, run = parts[key]
        started = time.monotonic()
        for figure, value in run().items():
            print(f"| {title} | {figure} | {value} |", flush=True)
        print(f"| {title} | time (s) | {round(time.monotonic() - started)} |", flush=True)


if __name__ == "__main__":
    main()

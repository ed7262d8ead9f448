"""The `canceldesk` command: run, check, reprocess, replay, accounts import/sync, sheets reconcile, jobs, outbox, demo.

Each sub-command is a small function; they share one way to load the configuration and
build the Desk, and report problems in plain words with exit code 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from daemon import app, timers
from daemon.accounts_import import import_rows, read_rows
from daemon.app import make_source
from daemon.cli import cases as cli_cases
from daemon.cli import outbox as cli_outbox
from daemon.cli import report as cli_report
from daemon.cli.demo import set_up
from daemon.config import Config, load
from daemon.db import transaction
from daemon.intake import leader, memory, pipeline, store
from daemon.intake.pipeline import reprocess
from daemon.intake.watcher import Watcher
from daemon.logformat import configure
from daemon.schema import ConfigError
from daemon.sheets.customers import sync_accounts
from daemon.tables import progress
from daemon.timers import scheduler
from daemon.views.check import run_checks
from integrations.sheets.backend import SheetsError

if TYPE_CHECKING:
    from daemon.desk import Desk

log = logging.getLogger("canceldesk")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return args.handler(args) or 0
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except (LookupError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="canceldesk", description="A cancellation desk run by mail.")
    parser.add_argument("--config", default="config.toml", help="configuration file (default: config.toml)")
    commands = parser.add_subparsers(dest="command")
    run = commands.add_parser("run", help="watch the inbox and run the desk until stopped")
    run.add_argument("--once", action="store_true", help="process what is there, then exit")
    run.set_defaults(handler=cmd_run)
    commands.add_parser("check", help="validate the configuration and try every connection").set_defaults(
        handler=cmd_check
    )
    reprocess = commands.add_parser("reprocess", help="process a stored message again (e.g. one set aside)")
    reprocess.add_argument("message_id", type=int)
    reprocess.set_defaults(handler=cmd_reprocess)
    replay = commands.add_parser("replay", help="feed a .eml file through the pipeline")
    replay.add_argument("file", type=Path)
    replay.add_argument("--dry-run", action="store_true", help="show what would happen, change nothing")
    replay.set_defaults(handler=cmd_replay)
    accounts = commands.add_parser("accounts", help="manage accounts").add_subparsers(dest="accounts_command")
    importer = accounts.add_parser("import", help="import accounts from a CSV or XLSX file")
    importer.add_argument("file", type=Path)
    importer.set_defaults(handler=cmd_accounts_import)
    accounts.add_parser("sync", help="import accounts from the customers sheet ([sheets] customers_*)").set_defaults(
        handler=cmd_accounts_sync
    )
    sheets = commands.add_parser("sheets", help="the billing, offboarding and planner sheets").add_subparsers(
        dest="sheets_command"
    )
    sheets.add_parser(
        "reconcile", help="write pending rows, then repair rows people deleted, moved or edited"
    ).set_defaults(handler=cmd_sheets_reconcile)
    jobs = commands.add_parser("jobs", help="the timers: what is due, for which case, when").add_subparsers(
        dest="jobs_command"
    )
    jobs.add_parser("list", help="list pending timers, soonest first").set_defaults(handler=cmd_jobs_list)

    cli_cases.register(commands, accounts)
    cli_report.register(commands)
    cli_outbox.register(commands)
    demo = commands.add_parser("demo", help="set up the embedded demo under a folder (used by `make run`)")
    demo.add_argument("--dir", type=Path, default=Path("var"))
    demo.set_defaults(handler=cmd_demo)
    for sub in commands.choices.values():
        sub.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def _config(args) -> Config:
    return app.load_config(args.config)


def _desk(args, **kwargs) -> Desk:
    return app.open_desk(args.config, **kwargs)


def cmd_run(args) -> int:

    memory.return_large_buffers()  # before the first large mail, so its copies never settle in the heap
    desk = _desk(args)
    try:
        held = leader.single_process(desk.engine)
    except leader.AlreadyRunning as exc:
        print(f"canceldesk: {exc}", file=sys.stderr)
        return 1
    try:
        return _run(args, desk)
    finally:
        if held is not None:
            held.close()


def _run(args, desk: Desk) -> int:

    watcher = Watcher(desk, make_source(desk.config))
    _stop_on_signals(desk.stopping)
    if args.once:
        timers.run_due_timers(desk)  # what fell due while the daemon was not running
        cli_report.on_run(desk, once=True)
        report = watcher.run_once()
        log.info(
            "done: %s stored, %s already known, %s processed, %s mails sent",
            report.stored,
            report.duplicates,
            report.processed,
            report.sent,
        )
        return 0
    log.info("canceldesk is watching %s (Ctrl-C to stop)", watcher.source.key)
    leader.serve(desk, lambda: _lead(desk, watcher))
    log.info("stopped")
    return 0


def _lead(desk: Desk, watcher) -> None:

    scheduler.start(desk)  # timers fire from its thread; the database keeps what is due
    cli_report.on_run(desk, once=False)  # the digest is one of its timers
    try:
        watcher.run_forever()
    finally:
        scheduler.stop(desk)
        desk.dispatcher.close()


def cmd_check(args) -> int:

    try:
        config = load(args.config)
    except ConfigError as exc:
        print(f"configuration  FAILED  {exc}")
        return 2
    print(f"configuration  ok      {Path(args.config).resolve()}")
    return run_checks(config, print)


def cmd_reprocess(args) -> int:

    outcome = reprocess(_desk(args), args.message_id)
    _print_outcome(outcome)
    return 0 if outcome.decision else 1


def cmd_replay(args) -> int:

    desk = _desk(args)
    raw = args.file.read_bytes()
    if args.dry_run:
        print("\n".join(pipeline.dry_run(desk, raw).lines()))
        desk.engine.dispose()
        return 0
    with transaction(desk.factory) as session:
        stored = store.store(
            session, mailbox=f"replay:{args.file.name}", uidvalidity=None, uid=None, raw=raw, now=desk.clock.now()
        )
    if not stored.is_new:
        print(f"already stored as message #{stored.message_id}; use `canceldesk reprocess {stored.message_id}`")
        return 1
    outcome = pipeline.process_now(desk, stored.message_id)
    desk.dispatcher.deliver_due()
    _print_outcome(outcome)
    return 0


def _print_outcome(outcome) -> None:
    print(
        f"message #{outcome.message_id}: {outcome.status.value}"
        + (f" ({outcome.decision.label}: {outcome.decision.reason})" if outcome.decision else "")
    )


def cmd_accounts_import(args) -> int:

    desk = _desk(args)
    try:
        with transaction(desk.factory) as session:
            rows = read_rows(args.file)
            report = import_rows(session, progress(rows, total=len(rows), label="importing accounts"))
    finally:
        desk.engine.dispose()
    print(f"{report.summary()} from {args.file}")
    for problem in report.problems:
        print(f"  skipped {problem}")
    return 0 if not report.problems else 1


def cmd_accounts_sync(args) -> int:

    desk = _desk(args)
    sync = desk.sheets
    try:
        report = sync_accounts(desk, sync.backend, sync.mappings["customers"])
    except SheetsError as exc:
        print(f"error: the customers sheet could not be read: {exc}", file=sys.stderr)
        return 2
    print(
        f"{report.imported} accounts imported from the customers sheet, {len(report.problems)} rows could not be read"
    )
    for line in report.lines():
        print(f"  skipped {line}")
    return 0 if not report.problems else 1


def cmd_sheets_reconcile(args) -> int:

    sync = _desk(args).sheets
    try:
        flushed = sync.flush()
        results = sync.reconcile()
    except SheetsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if flushed.error:
        print(f"error: pending rows could not be written: {flushed.error}", file=sys.stderr)
        return 2
    print(f"{flushed.entries} pending rows written")
    for name, r in results.items():
        print(
            f"{name}: {r.unchanged} rows as they should be, {r.restored} restored, {r.edited} edited back, "
            f"{r.moved} moved, {r.cleared} duplicates cleared"
        )
    return 0


def cmd_jobs_list(args) -> int:

    desk = _desk(args)
    with transaction(desk.factory) as session:
        lines = timers.listing(session, desk.config.desk.timezone)
    print("\n".join(lines) if lines else "no pending timers")
    return 0


def cmd_demo(args) -> int:

    _logging("INFO")
    config_path = set_up(args.dir)
    print(f"demo ready: {config_path}")
    return 0


def _logging(level: str, style: str = "text") -> None:

    configure(level, style)


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum, _frame):
        name = signal.Signals(signum).name
        if stop.is_set():
            # Asked twice: leave now. Whatever was in hand is uncommitted and done again at
            # the next start, exactly as after a crash; a traceback would only alarm.
            sys.stderr.write(f"received {name} again: exiting at once\n")
            os._exit(128 + signum)
        log.info("received %s: stopping after the current mail (again to stop at once)", name)
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)

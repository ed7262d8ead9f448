"""`canceldesk check`: try every part the configuration names, one plain line each.

Each check returns the lines to print: nothing when the part works, else one line per
problem, naming the key or the thing to fix. A check never prints a secret, only which
variable or command it came from. The exit code is the worst line's: 0 all fine, 1 a
part failed (a server away, a password refused), 2 the configuration must change.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from daemon.app import ensure_dirs, make_engine, make_renderer, make_sender, make_sheet_backend, make_source
from daemon.config import Config
from daemon.schema import ConfigError
from daemon.sheets import layout
from daemon.views.check_staff import auth_problems, role_problems, staff_problems
from integrations.mailfiles import FileSender
from integrations.smtp import AUTH_CODES, RelaySetupError, SendError

PART_FAILED, BAD_CONFIGURATION = 1, 2


@dataclass(frozen=True)
class Line:
    status: str  # "ok", "warning" or "FAILED"
    text: str = ""
    exit_code: int = 0


def ok(text: str = "") -> Line:
    return Line("ok", text)


def warning(text: str) -> Line:
    return Line("warning", text)


def failed(text: str) -> Line:
    return Line("FAILED", text, PART_FAILED)


def misconfigured(text: str) -> Line:
    return Line("FAILED", text, BAD_CONFIGURATION)


Check = Callable[[Config], Iterable[Line] | None]


def run_checks(config: Config, out: Callable[[str], None]) -> int:
    """Run every check, print its lines, return the exit code."""
    worst = 0
    for name, check in CHECKS:
        lines = _lines(check, config) or [ok()]
        for line in lines:
            out(f"{name:<14} {line.status:<7} {line.text}".rstrip())
            worst = max(worst, line.exit_code)
    return worst


def _lines(check: Check, config: Config) -> list[Line]:
    try:
        return list(check(config) or [])
    except ConfigError as exc:
        return [misconfigured(str(exc))]
    except Exception as exc:  # a check reports, it never stops the others
        return [failed(f"{exc.__class__.__name__}: {exc}")]


def check_database(config: Config) -> None:
    from sqlalchemy import text

    engine = make_engine(config)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    finally:
        engine.dispose()


def check_mailbox(config: Config) -> None:

    ensure_dirs(config)
    source = make_source(config)
    try:
        source.connect()
    finally:
        source.close()


def check_smtp(config: Config) -> list[Line]:
    """Connect, TLS and AUTH as configured, then QUIT (no mail); a file outbox gets a probe file."""

    ensure_dirs(config)
    sender = make_sender(config)
    try:
        sender.probe()
    except RelaySetupError as exc:
        if isinstance(exc.__cause__, ConfigError):
            return [misconfigured(str(exc.__cause__))]
        return [failed(_setup_hint(config, sender, exc))]
    except SendError as exc:
        reason = exc.__cause__ or exc
        return [
            failed(
                f"cannot connect to {sender.host}:{sender.port}: {reason}: is the relay running, and is smtp.url right?"
            )
        ]
    except OSError as exc:
        return [failed(f"cannot write a file in {sender.directory}: {exc.strerror or exc} (smtp.url)")]
    if isinstance(sender, FileSender):
        return [ok(f"wrote and removed a probe file in {sender.directory}")]
    login = f", logged in as {sender.username}" if sender.username else ""
    return [ok(f"{sender.host}:{sender.port} ({sender.security}){login}; no mail sent")]


def _setup_hint(config: Config, sender, exc) -> str:

    if exc.code in AUTH_CODES:
        where = (
            "smtp.password_command"
            if config.smtp.password_command
            else f"${config.smtp.password_env} (smtp.password_env)"
        )
        return (
            f"{sender.host}:{sender.port} refused the login of {sender.username!r}: {exc}: check the password "
            f"in {where} and the user in smtp.url"
        )
    return (
        f"{sender.host}:{sender.port}: {exc}: check smtp.url (smtps:// for TLS from the start, "
        "?starttls=no only for a relay on this host)"
    )


def check_templates(config: Config) -> list[Line]:

    renderer = make_renderer(config)
    if not renderer.names():
        return [failed("no templates found (templates.override_dir)")]
    # A warning, not a failure: the customer still gets the mail, in English.
    lines = [
        warning(f"no translation {missing}: those customers read the English")
        for missing in renderer.missing_translations()
    ]
    lines += [
        warning(f"winback.by_language.{gap} (winback.offers in English stand in)")
        for gap in config.winback.untranslated()
    ]
    lines += [
        warning(f"offers.customer_words.{gap}: customers of that language read the English, or the offer's name")
        for gap in config.offers.untranslated()
    ]
    staff = renderer.missing_staff_translations()
    if staff:
        lines.append(
            warning(
                f"desk.language = {config.desk.language!r}: {len(staff)} staff mails have no translation "
                f"({', '.join(staff[:3])}{', ...' if len(staff) > 3 else ''}): staff read them in English"
            )
        )
    return lines


def check_sheets(config: Config) -> list[Line]:
    """Read the header of every mapped sheet: proves the key, the sharing and the names."""

    backend = make_sheet_backend(config)
    checklist = layout.checklist_names(config.offboarding.items)
    for mapping in layout.mappings(config.sheets, checklist).values():
        backend.read_values(mapping)
    if config.sheets.backend == "xlsx":
        folder = config.path(config.sheets.path).parent
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK):
            return [failed(f"cannot write the workbook's folder {folder} (sheets.path)")]
    return []


def check_staff(config: Config) -> list[Line]:

    return [misconfigured(problem) for problem in staff_problems(config)]


def check_roles(config: Config) -> list[Line]:

    return [misconfigured(problem) for problem in role_problems(config)]


def check_auth(config: Config) -> list[Line]:

    problems, warnings = auth_problems(config)
    return [misconfigured(p) for p in problems] + [warning(w) for w in warnings]


CHECKS: list[tuple[str, Check]] = [
    ("database", check_database),
    ("mailbox", check_mailbox),
    ("smtp", check_smtp),
    ("sheets", check_sheets),
    ("templates", check_templates),
    ("staff", check_staff),
    ("roles", check_roles),
    ("auth", check_auth),
]

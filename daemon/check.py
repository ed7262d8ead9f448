"""`canceldesk check`: try every part the configuration names, one plain line each.

Each check returns None when the part works, or the problem in plain words; a check
never prints a secret, only which variable or command it came from.
"""
from __future__ import annotations

import os
from typing import Callable

from daemon.config import Config

Check = Callable[[Config], str | None]


def run_checks(config: Config, out: Callable[[str], None]) -> bool:
    ok = True
    for name, check in CHECKS:
        try:
            problem = check(config)
        except Exception as exc:  # a check reports, it never stops the others
            problem = f"{exc.__class__.__name__}: {exc}"
        out(f"{name:<14} {'ok' if problem is None else 'FAILED':<7} {problem or ''}".rstrip())
        ok = ok and problem is None
    return ok


def check_database(config: Config) -> str | None:
    from sqlalchemy import text

    from daemon.app import make_engine

    engine = make_engine(config)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    finally:
        engine.dispose()
    return None


def check_mailbox(config: Config) -> str | None:
    from daemon.app import ensure_dirs, make_source

    ensure_dirs(config)
    source = make_source(config)
    try:
        source.connect()
    finally:
        source.close()
    return None


def check_smtp(config: Config) -> str | None:
    from daemon.app import ensure_dirs, make_sender

    ensure_dirs(config)
    sender = make_sender(config)
    probe = getattr(sender, "check", None)
    if probe is not None:
        probe()
    return None


def check_templates(config: Config) -> str | None:
    from daemon.app import make_renderer

    names = make_renderer(config).names()
    return None if names else "no templates found"


def check_sheets(config: Config) -> str | None:
    """Read the header of every mapped sheet: proves the key, the sharing and the names."""
    from daemon.app import make_sheet_backend
    from daemon.sheets import layout

    backend = make_sheet_backend(config)
    checklist = layout.checklist_names(config.offboarding.items)
    for mapping in layout.mappings(config.sheets, checklist).values():
        backend.read_values(mapping)
    if config.sheets.backend == "xlsx":
        folder = config.path(config.sheets.path).parent
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK):
            return f"cannot write the workbook's folder {folder}"
    return None


def check_staff(config: Config) -> str | None:
    return None if config.staff.members else "no staff configured: nobody can run commands"


CHECKS: list[tuple[str, Check]] = [
    ("database", check_database),
    ("mailbox", check_mailbox),
    ("smtp", check_smtp),
    ("sheets", check_sheets),
    ("templates", check_templates),
    ("staff", check_staff),
]

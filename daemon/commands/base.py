"""The shape of a staff command: what it declares (name, usage, roles, states) and what it gets.

Every command module defines `COMMAND = Command(...)`; daemon.commands.staffmail checks roles and
states from these declarations before calling `process`, so a command's own code only
deals with its arguments and the case. A command says no by raising `Refused` with the
reason in plain words: that sentence is what the member of staff reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from daemon.desk import Desk
    from daemon.directory import Staff
    from daemon.models import Case
    from daemon.reading.classify import Mail

ANY_STAFF = frozenset({"*"})


class Refused(Exception):
    """Raised by a command with the reason in plain words (shown to staff)."""


@dataclass
class CommandContext:
    desk: Desk
    session: Session
    case: Case | None
    staff: Staff
    mail: Mail  # daemon.reading.classify.Mail: the parsed message and its inbound row
    now: datetime
    results: list[str] = field(default_factory=list)  # extra lines for the results mail (e.g. suggested offers)
    stop: bool = False  # set by #end: the lines below are not read


@dataclass(frozen=True)
class Command:
    name: str  # 'cancel'
    usage: str  # '#cancel SERVICE[, SERVICE] on YYYY-MM-DD'
    summary: str  # one line for #help and docs/commands.md
    roles: frozenset[str]  # roles allowed by default; ANY_STAFF = any member of staff
    states: frozenset[str] | None  # case states where it applies; None = any
    needs_case: bool
    process: Callable[[CommandContext, str], str]  # returns the 'done' message; raises Refused
    section: str = ""  # title of its lines in the results mail; default: the command line


def add_detail(case: Case, key: str, item: dict) -> None:
    """Append `item` to the list `case.reasons` or `case.offers` (a new list: JSON columns track assignment only)."""
    setattr(case, key, [*(getattr(case, key) or []), item])


def allowed_roles(desk: Desk, command: Command) -> frozenset[str]:
    return roles_for(desk.config, command)


def roles_for(config, command: Command) -> frozenset[str]:
    """The roles that may run `command`: the configured override, else the command's default."""
    override = config.commands.roles.get(command.name)
    return frozenset(override) if override is not None else command.roles

"""The Desk: every collaborator the stages need, as named and typed fields.

The stages (intake, pipeline, effects, watcher, commands, timers) take a Desk instead of
reaching for globals, so a test can build one with a manual clock and real servers, and
the daemon builds one from the configuration file (daemon.app). This module sits low in
the stack: it names the adapters by protocol and imports no stage.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from daemon.business_calendar import BusinessCalendar
from daemon.cases.workflow import EventBus
from daemon.clock import Clock
from daemon.config import Config
from daemon.directory import StaffDirectory
from daemon.mail.outbox import Dispatcher
from daemon.mail.rendering import Renderer
from integrations.mailauth import DnsResolver
from integrations.smtp import MailSender

if TYPE_CHECKING:
    from daemon.commands.base import Command
    from daemon.models import Case
    from daemon.reading.classify import Mail
    from daemon.sheets.sync import SheetSync
    from daemon.timers.scheduler import TimerScheduler


class MailStep(Protocol):
    """What the pipeline hands one mail to when it needs the commands stage (staff mail, refusals)."""

    def __call__(self, desk: Desk, session: Session, mail: Mail) -> None: ...


class TimersOfCase(Protocol):
    """The pending timers of a case in words, for #status."""

    def __call__(self, desk: Desk, session: Session, case: Case) -> list[str]: ...


@dataclass
class Desk:
    config: Config
    engine: Engine
    factory: sessionmaker[Session]
    clock: Clock
    renderer: Renderer
    bus: EventBus
    staff: StaffDirectory
    dispatcher: Dispatcher
    sender: MailSender
    calendar: BusinessCalendar
    # The commands stage, as the pipeline reaches it: staff mail runs commands, an outsider's
    # commands are refused; `commands` (in #help's order) tell a command line from prose.
    staff_mail: MailStep | None = None
    outsider_commands: MailStep | None = None
    commands: tuple[Command, ...] = ()
    pending_timers: TimersOfCase | None = None
    # What each kind of timer does when it fires (daemon.timers.jobs), by kind.
    timer_jobs: Mapping[str, Callable[..., str]] = field(default_factory=dict)
    # The batched sheet rows; the watcher's sweep ticks it. None: no sheets configured yet.
    sheets: SheetSync | None = None
    # The running timer scheduler and the session listeners that feed it committed timers.
    scheduler: TimerScheduler | None = None
    scheduler_listeners: list[tuple[str, Callable[..., Any]]] = field(default_factory=list)
    # DKIM keys are looked up through this (dkimpy's dnsfunc); None: real DNS.
    dns: DnsResolver | None = None
    # One unit of case work at a time in this process: the watcher's thread (mail) and
    # the scheduler's (timers) would otherwise race on the same case, and row locks alone
    # do not cover SQLite or the JSON details both may rewrite.
    case_work: threading.RLock = field(default_factory=threading.RLock)
    # Set when the daemon is asked to stop: long loops (backlog, outbox, IDLE) look at it
    # between mails, so a stop never waits for a whole pass.
    stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def command_names(self) -> frozenset[str]:
        return frozenset(command.name for command in self.commands)

"""The staff commands, in one explicit ordered tuple: #help and docs/commands.md list them in this order.

Adding a command: a module in daemon/commands/ defining `COMMAND = Command(...)`, and one
entry here. Roles a command allows are its own default unless `[commands.roles]` in the
configuration says otherwise.
"""
from __future__ import annotations

from daemon.commands import account, end, help, note, offer, reason, status, verbal, verify, withdrawn
from daemon.commands import approve, call, cancel, change, credit, done, keep, lost, pause, reject, saved  # issue 4b
from daemon.commands.base import Command

COMMANDS: tuple[Command, ...] = (
    help.COMMAND,
    status.COMMAND,
    note.COMMAND,
    reason.COMMAND,
    offer.COMMAND,
    verify.COMMAND,
    verbal.COMMAND,
    account.COMMAND,
    withdrawn.COMMAND,
    call.COMMAND,
    keep.COMMAND,
    cancel.COMMAND,
    pause.COMMAND,
    change.COMMAND,
    saved.COMMAND,
    lost.COMMAND,
    credit.COMMAND,
    approve.COMMAND,
    reject.COMMAND,
    done.COMMAND,
    end.COMMAND,   # last: it stops the reading
)

_BY_NAME = {command.name: command for command in COMMANDS}


def lookup(name: str) -> Command | None:
    return _BY_NAME.get(name.lower())


def allowed_roles(desk, command: Command) -> frozenset[str]:
    return roles_for(desk.config, command)


def roles_for(config, command: Command) -> frozenset[str]:
    """The roles that may run `command`: the configured override, else the command's default."""
    override = config.commands.roles.get(command.name)
    return frozenset(override) if override is not None else command.roles

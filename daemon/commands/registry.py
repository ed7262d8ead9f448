"""The staff commands, in one explicit ordered tuple: #help and docs/commands.md list them in this order.

Adding a command: a module in daemon/commands/ defining `COMMAND = Command(...)`, and one
entry here. Roles a command allows are its own default unless `[commands.roles]` in the
configuration says otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from daemon.commands import (
    account,
    approve,
    call,
    cancel,
    change,
    credit,
    done,
    end,
    help,
    keep,
    language,
    lost,
    note,
    offer,
    pause,
    reason,
    reject,
    saved,
    status,
    verbal,
    verify,
    withdrawn,
)
from daemon.commands.base import Command

if TYPE_CHECKING:
    pass

COMMANDS: tuple[Command, ...] = (
    help.COMMAND,
    status.COMMAND,
    note.COMMAND,
    reason.COMMAND,
    offer.COMMAND,
    verify.COMMAND,
    verbal.COMMAND,
    account.COMMAND,
    language.COMMAND,
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
    end.COMMAND,  # last: it stops the reading
)

_BY_NAME = {command.name: command for command in COMMANDS}


def lookup(name: str) -> Command | None:
    return _BY_NAME.get(name.lower())

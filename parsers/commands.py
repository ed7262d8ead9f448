"""Parse stage, staff commands: '#name args' lines in the new text of a mail.

Only the new text (above the quote) is scanned, so a quoted earlier command never runs
twice. A line is a command when, after leading whitespace, it starts with '#' directly
followed by a letter: '# heading', '#1' and '#42 in the list' are ordinary text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_COMMAND = re.compile(r'^\s*#([A-Za-z][\w-]*)\s*:?(?:\s+(.*?))?\s*$')


@dataclass(frozen=True)
class CommandLine:
    """'#cancel Social, Content on 2026-12-31' -> name 'cancel', args 'Social, Content on 2026-12-31'."""

    name: str
    args: str
    line: str


@dataclass(frozen=True)
class CommandScan:
    """Command lines in order, and the other non-empty lines (reported back as 'ignored')."""

    commands: tuple[CommandLine, ...]
    ignored: tuple[str, ...]


def parse_command(line: str) -> CommandLine | None:
    """One line as a command, or None."""
    match = _COMMAND.match(line)
    if not match:
        return None
    return CommandLine(match.group(1).lower(), (match.group(2) or '').strip(), line.strip())


def scan_commands(new_text: str) -> CommandScan:
    """Split `new_text` into command lines and ignored lines."""
    commands, ignored = [], []
    for line in (new_text or '').replace('\r\n', '\n').split('\n'):
        command = parse_command(line)
        if command is not None:
            commands.append(command)
        elif line.strip():
            ignored.append(line.strip())
    return CommandScan(tuple(commands), tuple(ignored))

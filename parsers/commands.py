"""Parse stage, staff commands: '#name args' lines in the sender's own new text.

Only the text above the first reply or forward boundary, in any language, is read
(`parsers.quotes.split_own`), so a quoted command never runs, whoever wrote it. A line is
a command when, after leading whitespace, it starts with '#' directly followed by a
letter: '# heading', '#1' and '#42 in the list' are ordinary text.

Everything the desk writes shows command lines in the form `shown()` gives them, which
`parse_command` does not accept: a mail of ours that comes back (an auto-responder, a
reply that keeps our text unquoted) can never run what it names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from parsers.quotes import split_own

_COMMAND = re.compile(r"^\s*#([A-Za-z][\w-]*)\s*:?(?:\s+(.*?))?\s*$")


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
    return CommandLine(match.group(1).lower(), (match.group(2) or "").strip(), line.strip())


def scan_commands(new_text: str) -> CommandScan:
    """Split `new_text` into command lines and ignored lines."""
    commands, ignored = [], []
    for line in (new_text or "").replace("\r\n", "\n").split("\n"):
        command = parse_command(line)
        if command is not None:
            commands.append(command)
        elif line.strip():
            ignored.append(line.strip())
    return CommandScan(tuple(commands), tuple(ignored))


@dataclass(frozen=True)
class OwnCommands:
    """The sender's own lines, and the command lines found below where their text ends."""

    lines: tuple[str, ...]
    boundary: str  # the line where the own text ends ('' when nothing follows)
    below: tuple[CommandLine, ...]

    @property
    def commands(self) -> tuple[CommandLine, ...]:
        return scan_commands("\n".join(self.lines)).commands


def own_commands(text: str) -> OwnCommands:
    """Split a mail's whole text into the sender's own lines and the quoted commands."""
    own, rest = split_own(text)
    boundary = next((line.strip() for line in rest if line.strip()), "")
    below = tuple(c for c in (parse_command(line.lstrip("> ")) for line in rest) if c is not None)
    return OwnCommands(tuple(own), boundary[:200], below)


# '/status', '! note ...', '＃help', '# cancel ...': a known name behind a marker that is not '#' directly.
_NEAR_MISS = re.compile(r"^\s*(?:[/!＃]\s*|#\s+)([A-Za-z][\w-]*)\b")


def meant_as_command(line: str, names: frozenset[str]) -> bool:
    """Whether a line that is not a command names one of ours behind a wrong marker: worth saying so."""
    match = _NEAR_MISS.match(line)
    return bool(match) and match.group(1).lower() in names


def shown(line: str) -> str:
    """`line` as the desk writes it when it names a command: quoted, never runnable."""
    return f'"{line.strip()}"'


def defuse(text: str) -> str:
    """Every line of `text` that would parse as a command, put in its `shown()` form."""
    return "\n".join(_defused_line(line) for line in text.split("\n"))


def _defused_line(line: str) -> str:
    if parse_command(line) is None:
        return line
    indent = line[: len(line) - len(line.lstrip())]
    return indent + shown(line)

"""Writes docs/commands.md from the command registry, so the reference never drifts from the code.

Run `.venv/bin/python tools/gen_commands_doc.py` after adding or changing a command;
tests/commands/test_docs_and_config.py fails while the committed file is stale.
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from daemon.commands.base import ANY_STAFF, Command  # noqa: E402
from daemon.commands.registry import COMMANDS  # noqa: E402

TARGET = REPO / "docs" / "commands.md"

INTRO = """\
# Staff commands

Generated from `daemon/commands/registry.py` by `tools/gen_commands_doc.py`: do not edit.

Staff drive a case by replying to any mail of the case (or by putting its reference in
the subject) with one command per line, above the quoted text. Only lines starting
with `#` and a letter are commands; `#end` stops the reading, so a signature below it
is never taken for a command. Every command mail gets one results mail listing what
was done, what was refused and why, each command's answer in a section of its own,
and the lines that look meant as commands but are not written as one.

A command runs only when the mail is authenticated (our server's
`Authentication-Results` or a DKIM signature, see `[auth]`), the sender is staff with a
role that may run it, and the case is in a state where it applies. The roles below are
the defaults; `[commands.roles]` in the configuration replaces them per command.
Customers never run commands: their `#` lines are answered with a refusal.
"""


def render() -> str:
    parts = [INTRO, "| Command | What it does | Roles | Case states |", "|---|---|---|---|"]
    parts += [_row(command) for command in COMMANDS]
    return "\n".join(parts) + "\n"


def _row(command: Command) -> str:
    roles = "any staff" if command.roles & ANY_STAFF else ", ".join(sorted(command.roles))
    if not command.needs_case:
        states = "no case needed"
    else:
        states = "any" if command.states is None else ", ".join(sorted(command.states))
    usage = command.usage.replace("|", r"\|")  # a pipe inside a table cell, even in code
    return f"| `{usage}` | {command.summary} | {roles} | {states} |"


def main() -> None:
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(REPO)} ({len(COMMANDS)} commands)")


if __name__ == "__main__":
    main()

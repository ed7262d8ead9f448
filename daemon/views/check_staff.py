"""`canceldesk check`, the configuration half: do the staff fit what the playbook asks of them?

Nothing here connects anywhere: each function reads the configuration and returns one
line per problem, starting with the key to change. These problems stall cases quietly
(an approval step nobody may answer waits for ever, a role spelled `retension` grants
nothing), so `check` names them before a case meets them.
"""

from __future__ import annotations

import difflib
import re

from daemon.commands.base import ANY_STAFF, roles_for
from daemon.commands.registry import COMMANDS, lookup
from daemon.config import Config

_ADDRESS = re.compile(r"[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;.]+")
# Offboarding owners that name the account's people, not a staff role.
_ACCOUNT_OWNERS = frozenset({"team"})
_CASES = {
    "always": "every case",
    "credit": "a case with a credit",
    "early_termination": "a case ending before its term",
}


def roles_in_use(config: Config) -> frozenset[str]:
    """Every role something in the configuration grants a power to or waits for."""
    used: set[str] = set()
    for command in COMMANDS:
        used |= roles_for(config, command) - ANY_STAFF
    used |= {role for role, _ in config.approvals.steps()}
    used |= set(config.timers.approval_escalation_roles)
    services = {service.lower() for service in config.intent.services}
    for line in config.offboarding.items:
        owner = line.partition("->")[2].strip()
        if owner not in _ACCOUNT_OWNERS and "@" not in owner and owner.lower() not in services:
            used.add(owner)
    return frozenset(used)


def held_roles(config: Config) -> frozenset[str]:
    return frozenset(role for member in config.staff.members for role in member.roles)


def staff_problems(config: Config) -> list[str]:
    """No staff, an email that is not an address, a role nothing uses (a typo, mostly)."""
    members = config.staff.members
    if not members:
        return ["staff.members: empty: nobody can run #commands or answer an approval step"]
    used, key = roles_in_use(config), "staff.members" + (" (or staff.file)" if config.staff.file else "")
    problems = [
        f"{key}: {member.email!r} is not an e-mail address ({_who(member)})"
        for member in members
        if not _ADDRESS.fullmatch(member.email.strip())
    ]
    for member in members:
        problems += [
            f"{key}: {member.email} has the role {role!r}, which no command, approval step or "
            f"offboarding item uses{_did_you_mean(role, used)}"
            for role in member.roles
            if role not in used
        ]
    return problems


def role_problems(config: Config) -> list[str]:
    """Approval steps and commands nobody in [staff] may answer or run."""
    if not config.staff.members:
        return []  # staff_problems already says it, once
    held = held_roles(config)
    problems = [
        f"approvals.chain[{i}]: nobody in [staff] holds the role {role!r}: {_CASES[condition]} waits "
        f"at that step for ever (give a member that role, or change the chain)"
        for i, (role, condition) in enumerate(config.approvals.steps())
        if role not in held
    ]
    for name in config.commands.roles:
        if lookup(name) is None:
            names = [command.name for command in COMMANDS]
            problems.append(f"commands.roles.{name}: no such command{_did_you_mean(name, names)}")
    return problems + _commands_nobody_can_run(config, held)


def _commands_nobody_can_run(config: Config, held: frozenset[str]) -> list[str]:
    """One line per set of roles nobody holds, naming every command it leaves unrunnable."""
    stranded: dict[frozenset[str], list[str]] = {}
    for command in COMMANDS:
        roles = roles_for(config, command)
        if not roles & ANY_STAFF and not roles & held:
            stranded.setdefault(roles, []).append(command.name)
    return [
        f"commands.roles{'.' + names[0] if len(names) == 1 else ''}: nobody in [staff] holds "
        f"{_either(roles)}, so nobody can run {', '.join('#' + name for name in names)}"
        for roles, names in stranded.items()
    ]


def auth_problems(config: Config) -> tuple[list[str], list[str]]:
    """(problems, warnings) of `[auth]`: can a staff #command pass at all?"""
    auth = config.auth
    if auth.authserv_ids or not config.staff.members:
        return [], []
    if auth.verify_dkim_locally and "dkim" in auth.accept:
        return [], [
            "auth.authserv_ids: empty: no Authentication-Results header is trusted, so a staff #command "
            "passes only with a DKIM signature the desk verifies itself (set your receiving server's "
            "authserv-id)"
        ]
    return [
        "auth.authserv_ids: empty and no local DKIM check (auth.verify_dkim_locally, auth.accept): "
        "no staff #command can ever pass (set your receiving server's authserv-id)"
    ], []


def _who(member) -> str:
    return f"member {member.name!r}" if member.name else f"roles {', '.join(member.roles) or 'none'}"


def _did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _either(roles: frozenset[str]) -> str:
    names = [repr(name) for name in sorted(roles)]
    if not names:
        return "any role (the list is empty)"
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]

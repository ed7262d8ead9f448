"""Who may command: is this staff mail genuine, may this member run this command here?

Three questions, each answered in plain words for the results mail:
- authenticated: the From domain is proven by our receiving server's
  Authentication-Results or a DKIM signature we verify (integrations.mailauth), under
  the `[auth]` policy. DNS for our own DKIM check can be replaced through
  `desk.dns` (dkimpy's dnsfunc), so tests serve keys without a network.
- allowed: the member has a role the command (or `[commands.roles]`) names.
- applicable: the case is in a state the command declares.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from daemon.commands.base import ANY_STAFF, Command, allowed_roles
from daemon.directory import Staff
from daemon.models import Case
from integrations.mailauth import AuthPolicy, AuthVerdict, authenticate

if TYPE_CHECKING:
    from daemon.desk import Desk


def policy(desk: Desk) -> AuthPolicy:
    auth = desk.config.auth
    return AuthPolicy(
        authserv_ids=auth.authserv_ids,
        accept=auth.accept,
        verify_dkim_locally=auth.verify_dkim_locally,
        dns_resolver=desk.dns,
        receiving_hosts=auth.receiving_hosts,
        dkim_max_signatures=auth.dkim_max_signatures,
        dkim_dns_budget_seconds=auth.dkim_dns_budget_seconds,
    )


def authenticated(desk: Desk, raw: bytes, sender: str) -> AuthVerdict:
    return authenticate(raw, sender, policy(desk))


def role_refusal(desk: Desk, command: Command, staff: Staff) -> str | None:
    """None when `staff` may run `command`, else why not."""
    roles = allowed_roles(desk, command)
    if roles & ANY_STAFF or roles & staff.roles:
        return None
    yours = ", ".join(sorted(staff.roles)) or "none"
    return f"#{command.name} may be run by {_either(sorted(roles))} (your roles: {yours})"


def state_refusal(command: Command, case: Case | None) -> str | None:
    """None when `command` applies to `case`, else why not."""
    if case is None:
        if command.needs_case:
            return f"#{command.name} needs a case: reply to a mail of the case, or put its reference in the subject"
        return None
    if command.states is not None and case.state not in command.states:
        return (
            f"#{command.name} does not apply to {case.reference} in state '{case.state}' "
            f"(it applies in: {', '.join(sorted(command.states))})"
        )
    return None


def _either(roles: list[str]) -> str:
    if not roles:
        return "nobody (no role is configured for it)"
    return ", ".join(roles[:-1]) + " or " + roles[-1] if len(roles) > 1 else roles[0]

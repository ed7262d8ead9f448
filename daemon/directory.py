"""Who is who: customers' contacts on file, the staff and their roles.

Every look-up is by bare, lower-cased address: a display name never identifies anyone
('"alice@staff.example" <mallory@evil.example>' is Mallory).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon.config import StaffMember
from daemon.models import Account, Contact


def bare(address: str) -> str:
    return address.strip().strip("<>").lower()


@dataclass(frozen=True)
class Staff:
    email: str
    name: str
    roles: frozenset[str]


class StaffDirectory:
    def __init__(self, members: tuple[StaffMember, ...]) -> None:
        self._by_address = {bare(m.email): Staff(bare(m.email), m.name, frozenset(m.roles)) for m in members}

    def get(self, address: str) -> Staff | None:
        return self._by_address.get(bare(address))

    def with_role(self, role: str) -> list[Staff]:
        return [s for s in self._by_address.values() if role in s.roles]

    def __contains__(self, address: str) -> bool:
        return bare(address) in self._by_address


def contact_for(session: Session, address: str) -> Contact | None:
    return session.scalar(select(Contact).where(Contact.email == bare(address)))


def account_team_addresses(account: Account) -> list[str]:
    """The team lead, the account manager and every team member, each once, in that order."""
    seen: list[str] = []
    for address in [account.team_lead, account.account_manager, *(m.email for m in account.team)]:
        address = bare(address or "")
        if address and address not in seen:
            seen.append(address)
    return seen

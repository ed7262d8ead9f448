"""Who is who: customers' contacts on file, the staff and their roles.

Every look-up is by bare, lower-cased address: a display name never identifies anyone
('"alice@staff.example" <mallory@evil.example>' is Mallory).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, bindparam, inspect, select
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

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
    """The staff by address, and the agency's own desks (reception, voicemail), which are never customers.

    A desk (`[desk] system_addresses`), or any other address on one of the agency's own
    domains, counts as staff with no role: what it forwards is a forwarded request, and it
    may run only the commands any member of staff may run. The desk's own address is not
    one: mail from it is our own mail coming back.
    """

    def __init__(
        self,
        members: tuple[StaffMember, ...],
        *,
        desks: tuple[str, ...] = (),
        domains: tuple[str, ...] = (),
        desk_address: str = "",
    ) -> None:
        self._by_address = {bare(m.email): Staff(bare(m.email), m.name, frozenset(m.roles)) for m in members}
        self._desks = frozenset(bare(a) for a in desks) - set(self._by_address)
        self._domains = frozenset(d.lower() for d in domains)
        self._own = bare(desk_address)

    def get(self, address: str) -> Staff | None:
        address = bare(address)
        return self._by_address.get(address) or (Staff(address, "", frozenset()) if self.is_desk(address) else None)

    def is_desk(self, address: str) -> bool:
        """One of the agency's own desks or addresses that is not a member of staff."""
        address = bare(address)
        if not address or address == self._own or address in self._by_address:
            return False
        return address in self._desks or address.rpartition("@")[2] in self._domains

    def is_unlisted_colleague(self, address: str) -> bool:
        """Someone on the agency's own domains who is neither configured staff nor one of its desks."""
        address = bare(address)
        return self.is_desk(address) and address not in self._desks

    def with_role(self, role: str) -> list[Staff]:
        return [s for s in self._by_address.values() if role in s.roles]

    def __contains__(self, address: str) -> bool:
        return bare(address) in self._by_address or self.is_desk(address)


def contact_for(session: Session, address: str) -> Contact | None:
    return session.scalar(_CONTACT, {"email": bare(address)})


# Built once: every mail asks, and building a statement costs about as much as running it.
_CONTACT = select(Contact).where(Contact.email == bindparam("email"))


def customer_on_file(session: Session, address: str) -> Contact | None:
    """The contact, with its account and what case work reads of it (contacts, team, billing
    items) loaded now: read later, each would first write everything the case work added.
    The account comes joined to the contact's row (one row: a contact has one account); the
    collections each with a short query of their own, as one joined query would return
    contacts x team x items rows."""
    contact = session.scalar(_CUSTOMER, {"email": bare(address)})
    if contact is not None:
        _load_collections(session, contact.account)
    return contact


_CUSTOMER = _CONTACT.options(joinedload(Contact.account))


def _collection_statement(name: str) -> Select:
    # What the relationship's lazy loader runs (its rows, in its order), built once: the
    # loader builds its statement each time it fires, and that costs it more than running it.
    relationship = Account.__mapper__.relationships[name]
    model = relationship.mapper.class_
    statement = select(model).where(model.account_id == bindparam("account_id"))
    return statement.order_by(*relationship.order_by) if relationship.order_by else statement


_COLLECTIONS = {name: _collection_statement(name) for name in ("contacts", "team", "billing_items")}


def _load_collections(session: Session, account: Account) -> None:
    # Only what is not loaded yet: a collection in hand may hold what this transaction added.
    unloaded = inspect(account).unloaded
    for name, statement in _COLLECTIONS.items():
        if name in unloaded:
            set_committed_value(account, name, session.scalars(statement, {"account_id": account.id}).all())


def account_team_addresses(account: Account) -> list[str]:
    """The team lead, the account manager and every team member, each once, in that order."""
    seen: list[str] = []
    for address in [account.team_lead, account.account_manager, *(m.email for m in account.team)]:
        address = bare(address or "")
        if address and address not in seen:
            seen.append(address)
    return seen

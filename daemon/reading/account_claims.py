"""Who a mail is probably about: the account it claims, with the evidence, never as proof.

Two callers. A request from an address not on file claims an account (a colleague's
domain, the company's name or account number in the text or signature, a contact's name
in the display name): the case records it so the right team hears of it and a contact of
that account (or staff with `#verify`) can confirm it. A forward from our own desks
(reception, voicemail) carries a customer: the original sender's address, the names,
company and account numbers in the forwarded text are matched against the accounts.

Evidence is scored (an address or account number on file weighs more than a shared domain
or a name); the best account wins only when no other account scores as much, so an
ambiguous mail claims nothing and staff name the account, as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from daemon.directory import bare
from daemon.models import Account, Contact

# Shared mailbox providers: a domain everyone can write from says nothing about the account.
FREEMAIL = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.fr",
        "outlook.com",
        "hotmail.com",
        "hotmail.co.uk",
        "hotmail.fr",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "t-online.de",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "proton.me",
        "protonmail.com",
        "mail.com",
        "zoho.com",
        "yandex.com",
        "fastmail.com",
        "btinternet.com",
        "comcast.net",
    }
)
STRONG, MEDIUM = 3, 2  # an address, key or billing number on file / a domain, a company or a person's name
_LEGAL = re.compile(r"\s+(?:ltd|limited|llc|inc|gmbh|sarl|sas|bv|plc|co)\.?$", re.IGNORECASE)


@dataclass(frozen=True)
class Claim:
    account: Account
    evidence: tuple[str, ...]
    contact: Contact | None = None  # the contact the mail names or writes from the domain of, if one


def claimed_account(
    session: Session, *, address: str = "", name: str = "", text: str = "", ignore_domains: frozenset[str] = frozenset()
) -> Claim | None:
    """The one account the evidence points to most, or None (nothing found, or a tie)."""
    scored = []
    for account in _accounts(session):
        points, evidence, contact = _score(account, bare(address), name, text, ignore_domains)
        if points >= MEDIUM:
            scored.append((points, account, evidence, contact))
    scored.sort(key=lambda item: -item[0])
    if not scored or (len(scored) > 1 and scored[1][0] == scored[0][0]):
        return None
    points, account, evidence, contact = scored[0]
    return Claim(account, tuple(evidence), contact)


def _accounts(session: Session) -> list[Account]:
    return list(
        session.scalars(
            select(Account)
            .where(Account.active.is_(True))
            .options(selectinload(Account.contacts), selectinload(Account.billing_items))
            .order_by(Account.id)
        )
    )


def _score(
    account: Account, address: str, name: str, text: str, ignore: frozenset[str]
) -> tuple[int, list[str], Contact | None]:
    points, evidence, named = 0, [], None
    lowered, domain = text.lower(), address.rpartition("@")[2]
    for contact in account.contacts:
        if contact.email == address or (contact.email and contact.email in lowered):
            points, named = points + STRONG, contact
            evidence.append(f"names {contact.email}, a contact of {account.key}")
        elif domain and domain not in FREEMAIL | ignore and contact.email.rpartition("@")[2] == domain:
            points, named = points + MEDIUM, named or contact
            evidence.append(f"writes from {domain}, like {contact.email}")
        elif _names(contact.name, f"{name} {text}"):
            points, named = points + MEDIUM, named or contact
            evidence.append(f"bears the name of {contact.name} <{contact.email}>")
    for number in [account.key, *(item.item_key for item in account.billing_items)]:
        if number and re.search(rf"(?<![\w-]){re.escape(number)}(?![\w-])", text):
            points += STRONG
            evidence.append(f"cites {number}, an account number of {account.key}")
    company = _LEGAL.sub("", account.name or "").strip()
    if len(company) >= 4 and re.search(rf"\b{re.escape(company)}\b", text, re.IGNORECASE):
        points += MEDIUM
        evidence.append(f"names the company {account.name}")
    return points, evidence, named


def _names(full_name: str, where: str) -> bool:
    """Every word (two letters or more) of a contact's full name, when it has at least two."""
    wanted = set(re.findall(r"[^\W\d_]{2,}", (full_name or "").lower()))
    return len(wanted) >= 2 and wanted <= set(re.findall(r"[^\W\d_]{2,}", where.lower()))

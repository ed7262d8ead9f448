"""`canceldesk accounts import FILE`: accounts from a CSV or XLSX file, one row per account.

Columns (see docs/accounts.example.csv): account_id, name, timezone, contract_start
(YYYY-MM-DD), term_months, notice_days, account_manager, team_lead, contacts, team,
billing_items, and optionally language (de, fr, es, nl, pt, en: the customer's mail is
written in it whatever language their request is in; empty: as they write). List cells
use `;` between entries:
  contacts       `Jane Doe <jane@acme.example>; ops@acme.example`
  team           `SEO: seo@agency.example; PPC: ppc@agency.example, ppc2@agency.example`
  billing_items  `B-1001 SEO 1200.00; B-1002 PPC 800`
Re-importing updates an account in place (keyed by account_id): contacts, team members
and billing items the row no longer lists are removed, the others kept or changed, and the
report counts accounts created, updated and unchanged, so importing the same file twice
changes nothing and says so. A row that cannot be read is reported with its row number and
reason and skipped; the others are imported.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from email.utils import getaddresses
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon.directory import bare
from daemon.models import Account, BillingItem, Contact, TeamMember
from parsers.language import LANGUAGES


class RowProblem(ValueError):
    pass


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.unchanged

    def summary(self) -> str:
        """'imported 3 accounts (1 created, 2 unchanged)': a second import says it changed nothing."""
        counts = [
            f"{n} {what}"
            for n, what in ((self.created, "created"), (self.updated, "updated"), (self.unchanged, "unchanged"))
            if n
        ]
        return f"imported {self.imported} accounts" + (f" ({', '.join(counts)})" if counts else "")


@dataclass(frozen=True)
class AccountRow:
    """One row, read and checked before anything on file is touched."""

    key: str
    fields: dict[str, object]
    contacts: list[tuple[str, str]]  # (name, address)
    team: list[tuple[str, str]]  # (service, address), each once
    billing: dict[str, tuple[str, Decimal]]  # item id -> (service, monthly amount)


def read_rows(path: Path) -> list[dict[str, str]]:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _xlsx_rows(path)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return [{k.strip().lower(): (v or "").strip() for k, v in row.items() if k} for row in csv.DictReader(handle)]


def import_rows(session: Session, rows: Iterable[dict[str, str]], first_row: int = 2) -> ImportReport:
    report = ImportReport()
    for number, row in enumerate(rows, start=first_row):
        try:
            with session.begin_nested():
                outcome = _upsert(session, _read_row(row))
            setattr(report, outcome, getattr(report, outcome) + 1)
        except RowProblem as exc:
            report.problems.append(f"row {number}: {exc}")
    return report


def _read_row(row: dict[str, str]) -> AccountRow:
    return AccountRow(
        key=_required(row, "account_id"),
        fields={
            "name": _required(row, "name"),
            "timezone": _zone(row.get("timezone") or "UTC"),
            "contract_start": _date(row.get("contract_start", ""), "contract_start"),
            "term_months": _int(row.get("term_months", ""), "term_months"),
            "notice_days": _int(row.get("notice_days", ""), "notice_days") or 30,
            "account_manager": bare(row.get("account_manager", "")),
            "team_lead": bare(row.get("team_lead", "")),
            "language": _language(row.get("language") or ""),
        },
        contacts=_contacts(row.get("contacts", "")),
        team=_team(row.get("team", "")),
        billing=_billing(row.get("billing_items", "")),
    )


def _upsert(session: Session, row: AccountRow) -> str:
    """Create the account or bring it in line with the row, in place; says which ("created" ...)."""
    account = session.scalar(select(Account).where(Account.key == row.key))
    before = _snapshot(account) if account else None
    account = account or Account(key=row.key)
    # Rows are changed in place, never deleted and re-added: the unique (account, service,
    # address) and (account, item) keys would see the new row before the old one is gone.
    with session.no_autoflush:
        for name, value in row.fields.items():
            setattr(account, name, value)
        account.contacts = _merge_contacts(session, account, row.contacts)
        account.team = _merge_team(account, row.team)
        account.billing_items = _merge_billing(account, row.billing)
    session.add(account)
    session.flush()
    if before is None:
        return "created"
    return "unchanged" if _snapshot(account) == before else "updated"


def _snapshot(account: Account) -> tuple:
    """Everything an import sets, comparable: equal before and after means nothing changed."""
    return (
        account.name,
        account.timezone,
        account.contract_start,
        account.term_months,
        account.notice_days,
        account.account_manager,
        account.team_lead,
        account.language,
        sorted((c.email, c.name) for c in account.contacts),
        sorted((m.service, m.email) for m in account.team),
        sorted((i.item_key, i.service, Decimal(i.monthly_amount)) for i in account.billing_items),
    )


def _contacts(cell: str) -> list[tuple[str, str]]:
    found = [(name, bare(addr)) for name, addr in getaddresses([cell.replace(";", ",")]) if "@" in addr]
    if not found:
        raise RowProblem("contacts: at least one e-mail address is needed")
    return found


def _merge_contacts(session: Session, account: Account, wanted: list[tuple[str, str]]) -> list[Contact]:
    existing = {c.email: c for c in account.contacts}
    contacts = []
    for name, addr in wanted:
        owner = existing.get(addr) or session.scalar(select(Contact).where(Contact.email == addr))
        if owner is not None and owner.account_id not in (None, account.id):
            raise RowProblem(f"contacts: {addr} already belongs to another account")
        contact = owner or Contact(email=addr)
        contact.name = name
        contacts.append(contact)
    return contacts


def _team(cell: str) -> list[tuple[str, str]]:
    members = []
    for part in _entries(cell):
        service, sep, addresses = part.partition(":")
        if not sep:
            raise RowProblem(f"team: '{part}' should read 'SERVICE: address, address'")
        for addr in addresses.split(","):
            if "@" not in addr:
                raise RowProblem(f"team: '{addr.strip()}' is not an e-mail address")
            members.append((service.strip(), bare(addr)))
    return list(dict.fromkeys(members))


def _merge_team(account: Account, wanted: list[tuple[str, str]]) -> list[TeamMember]:
    kept = {(m.service, m.email): m for m in account.team if (m.service, m.email) in wanted}
    return [kept.get(pair) or TeamMember(service=pair[0], email=pair[1]) for pair in wanted]


def _billing(cell: str) -> dict[str, tuple[str, Decimal]]:
    items: dict[str, tuple[str, Decimal]] = {}
    for part in _entries(cell):
        fields = part.split()
        if len(fields) != 3:
            raise RowProblem(f"billing_items: '{part}' should read 'ITEM_ID SERVICE MONTHLY_AMOUNT'")
        try:
            amount = Decimal(fields[2].replace(",", ""))
        except InvalidOperation:
            raise RowProblem(f"billing_items: '{fields[2]}' is not an amount") from None
        if fields[0] in items:
            raise RowProblem(f"billing_items: item {fields[0]} is listed twice")
        items[fields[0]] = (fields[1], amount)
    return items


def _merge_billing(account: Account, wanted: dict[str, tuple[str, Decimal]]) -> list[BillingItem]:
    existing = {item.item_key: item for item in account.billing_items}
    items = []
    for key, (service, amount) in wanted.items():
        item = existing.get(key) or BillingItem(item_key=key)
        item.service = service
        if item.monthly_amount is None or Decimal(item.monthly_amount) != amount:
            item.monthly_amount = amount
        items.append(item)
    return items


def _entries(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


def _required(row: dict[str, str], column: str) -> str:
    value = (row.get(column) or "").strip()
    if not value:
        raise RowProblem(f"{column}: missing")
    return value


def _language(text: str) -> str | None:
    code = text.strip().lower()
    if not code:
        return None
    if code not in LANGUAGES:
        raise RowProblem(f"language: '{text.strip()}' is not one the desk writes ({', '.join(LANGUAGES)})")
    return code


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RowProblem(f"timezone: unknown time zone '{name}'") from None
    return name


def _date(value: str, column: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise RowProblem(f"{column}: '{value}' is not a date (YYYY-MM-DD)") from None


def _int(value: str, column: str) -> int | None:
    if not value:
        return None
    try:
        return int(float(value))
    except ValueError:
        raise RowProblem(f"{column}: '{value}' is not a whole number") from None


def _xlsx_rows(path: Path) -> list[dict[str, str]]:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        rows = list(workbook.active.iter_rows(values_only=True))
    finally:
        workbook.close()
    if not rows:
        return []
    header = [str(h or "").strip().lower() for h in rows[0]]
    return [{h: _cell_text(v) for h, v in zip(header, row) if h} for row in rows[1:] if any(v is not None for v in row)]


def _cell_text(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "date") and callable(value.date):
        return value.date().isoformat()
    return str(value).strip()

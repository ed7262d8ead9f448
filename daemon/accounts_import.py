"""`canceldesk accounts import FILE`: accounts from a CSV or XLSX file, one row per account.

Columns (see docs/accounts.example.csv): account_id, name, timezone, contract_start
(YYYY-MM-DD), term_months, notice_days, account_manager, team_lead, contacts, team,
billing_items. List cells use `;` between entries:
  contacts       `Jane Doe <jane@acme.example>; ops@acme.example`
  team           `SEO: seo@agency.example; PPC: ppc@agency.example, ppc2@agency.example`
  billing_items  `B-1001 SEO 1200.00; B-1002 PPC 800`
Re-importing updates an account in place (keyed by account_id). A row that cannot be read
is reported with its row number and reason and skipped; the others are imported.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from email.utils import getaddresses
from pathlib import Path
from typing import Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon.directory import bare
from daemon.models import Account, BillingItem, Contact, TeamMember

class RowProblem(ValueError):
    pass


@dataclass
class ImportReport:
    imported: int = 0
    problems: list[str] = field(default_factory=list)


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
                _upsert(session, row)
            report.imported += 1
        except RowProblem as exc:
            report.problems.append(f"row {number}: {exc}")
    return report


def _upsert(session: Session, row: dict[str, str]) -> None:
    key = _required(row, "account_id")
    account = session.scalar(select(Account).where(Account.key == key)) or Account(key=key)
    account.name = _required(row, "name")
    account.timezone = _zone(row.get("timezone") or "UTC")
    account.contract_start = _date(row.get("contract_start", ""), "contract_start")
    account.term_months = _int(row.get("term_months", ""), "term_months")
    account.notice_days = _int(row.get("notice_days", ""), "notice_days") or 30
    account.account_manager = bare(row.get("account_manager", ""))
    account.team_lead = bare(row.get("team_lead", ""))
    account.contacts = _contacts(session, account, row.get("contacts", ""))
    account.team = _team(row.get("team", ""))
    account.billing_items = _billing(row.get("billing_items", ""))
    session.add(account)
    session.flush()


def _contacts(session: Session, account: Account, cell: str) -> list[Contact]:
    found = [(name, bare(addr)) for name, addr in getaddresses([cell.replace(";", ",")]) if "@" in addr]
    if not found:
        raise RowProblem("contacts: at least one e-mail address is needed")
    existing = {c.email: c for c in account.contacts}
    contacts = []
    for name, addr in found:
        owner = session.scalar(select(Contact).where(Contact.email == addr))
        if owner is not None and owner.account_id not in (None, account.id):
            raise RowProblem(f"contacts: {addr} already belongs to another account")
        contact = existing.get(addr) or owner or Contact(email=addr)
        contact.name = name
        contacts.append(contact)
    return contacts


def _team(cell: str) -> list[TeamMember]:
    members = []
    for part in _entries(cell):
        service, sep, addresses = part.partition(":")
        if not sep:
            raise RowProblem(f"team: '{part}' should read 'SERVICE: address, address'")
        for addr in addresses.split(","):
            if "@" not in addr:
                raise RowProblem(f"team: '{addr.strip()}' is not an e-mail address")
            members.append(TeamMember(service=service.strip(), email=bare(addr)))
    return members


def _billing(cell: str) -> list[BillingItem]:
    items = []
    for part in _entries(cell):
        fields = part.split()
        if len(fields) != 3:
            raise RowProblem(f"billing_items: '{part}' should read 'ITEM_ID SERVICE MONTHLY_AMOUNT'")
        try:
            amount = Decimal(fields[2].replace(",", ""))
        except InvalidOperation:
            raise RowProblem(f"billing_items: '{fields[2]}' is not an amount") from None
        items.append(BillingItem(item_key=fields[0], service=fields[1], monthly_amount=amount))
    return items


def _entries(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


def _required(row: dict[str, str], column: str) -> str:
    value = (row.get(column) or "").strip()
    if not value:
        raise RowProblem(f"{column}: missing")
    return value


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

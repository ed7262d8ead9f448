"""Which spreadsheet, worksheet and column each sheet field lives in.

A ``SheetMapping`` names a worksheet and maps each field (the key in the row dicts the
daemon hands over) to the *header text* of its column, not to a column letter.
People insert, hide and reorder columns in shared sheets; the header row moves with
its column, a letter does not. Columns are therefore located by reading row 1 on
every fresh read of the sheet, and a header that is missing is added to the right of
the existing ones (see ``SheetBackend.ensure_header``). Columns that no mapping names
(a colleague's "notes" column) are never written.

``key_fields`` identify a row: upserts and reconciles find rows by these fields, never
by position, so a sorted or edited sheet does not lead to a second row.

Default layouts (row 1 is the header; one example row each)::

    Billing       | Account | Item ID | Service | Monthly amount | Stop date  | Case | Status
                  | ACME-7  | 40213   | Backup  | 49.5           | 2025-03-31 | C-12 | stopping
    Offboarding   | Case | Client | Final day  | Reason | Owner | Data export | Access removed | ...
                  | C-12 | ACME-7 | 2025-03-31 | price  | dana  | TRUE        | FALSE          | ...
    Planner       | Case | Account | Kind  | Effective date | Resume date | Reason | Status
                  | C-13 | ACME-9  | pause | 2025-04-01     | 2025-06-01  | summer | planned
    Customers     | Account | Name | Email
                  | ACME-7  | Acme | ops@acme.example

The spreadsheet key is empty in the defaults: it is deployment configuration (the
long id in the sheet's URL). The embedded xlsx backend ignores it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

# The offboarding checklist, one boolean column each; the daemon's playbook may pass
# its own list to offboarding_mapping().
DEFAULT_CHECKLIST: tuple[str, ...] = (
    "data_export",
    "access_removed",
    "devices_returned",
    "invoices_settled",
    "farewell_sent",
)


@dataclass(frozen=True, eq=True)
class SheetMapping:
    """One worksheet: where it is, how its rows are keyed, field -> header text."""

    name: str
    spreadsheet: str
    worksheet: str
    key_fields: tuple[str, ...]
    # Left out of the hash (a dict is not hashable); equality still compares it.
    columns: Mapping[str, str] = field(hash=False)
    # How a person reads a column: field -> "date" or "amount" (see presentation.py).
    formats: Mapping[str, str] = field(default_factory=dict, hash=False)
    currency: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", MappingProxyType(dict(self.columns)))
        object.__setattr__(self, "formats", MappingProxyType(dict(self.formats)))
        missing = [f for f in self.key_fields if f not in self.columns]
        if not self.key_fields or missing:
            raise ValueError(f"sheet {self.name!r}: key fields {missing} have no column")
        headers = list(self.columns.values())
        if len(set(headers)) != len(headers):
            raise ValueError(f"sheet {self.name!r}: two fields share a header")

    @property
    def location(self) -> tuple[str, str]:
        """(spreadsheet, worksheet): what identifies the worksheet to a backend."""
        return (self.spreadsheet, self.worksheet)

    @property
    def headers(self) -> tuple[str, ...]:
        """Header texts in field order: the order new columns are added in."""
        return tuple(self.columns.values())

    def with_location(self, spreadsheet: str, worksheet: str | None = None) -> SheetMapping:
        """The same layout in another spreadsheet (configuration overrides this)."""
        return replace(self, spreadsheet=spreadsheet, worksheet=worksheet or self.worksheet)


def _title(field_name: str) -> str:
    return field_name.replace("_", " ").capitalize()


def billing_mapping(spreadsheet: str = "", worksheet: str = "Billing") -> SheetMapping:
    """One row per billing item, keyed by (account, item_id): a case may stop several."""
    return SheetMapping(
        name="billing",
        spreadsheet=spreadsheet,
        worksheet=worksheet,
        key_fields=("account", "item_id"),
        columns={
            "account": "Account",
            "item_id": "Item ID",
            "service": "Service",
            "monthly_amount": "Monthly amount",
            "stop_date": "Stop date",
            "case_ref": "Case",
            "status": "Status",
        },
    )


def offboarding_mapping(
    spreadsheet: str = "",
    worksheet: str = "Offboarding",
    checklist: tuple[str, ...] = DEFAULT_CHECKLIST,
) -> SheetMapping:
    """One row per case, keyed by case_ref, then one column per checklist item."""
    columns = {
        "case_ref": "Case",
        "client": "Client",
        "final_day": "Final day",
        "reason": "Reason",
        "owner": "Owner",
    }
    columns.update({item: _title(item) for item in checklist})
    return SheetMapping("offboarding", spreadsheet, worksheet, ("case_ref",), columns)


def planner_mapping(spreadsheet: str = "", worksheet: str = "Planner") -> SheetMapping:
    """One row per case, keyed by case_ref; kind is cancel, pause or change."""
    columns = {
        "case_ref": "Case",
        "account": "Account",
        "kind": "Kind",
        "effective_date": "Effective date",
        "resume_date": "Resume date",
        "reason": "Reason",
        "status": "Status",
    }
    return SheetMapping("planner", spreadsheet, worksheet, ("case_ref",), columns)


def customers_mapping(spreadsheet: str = "", worksheet: str = "Customers") -> SheetMapping:
    """The account list, read (never written) by ``records.read_records``."""
    columns = {"account": "Account", "name": "Name", "email": "Email"}
    return SheetMapping("customers", spreadsheet, worksheet, ("account",), columns)


def default_mappings(spreadsheet: str = "") -> dict[str, SheetMapping]:
    """The four default mappings by name, all in one spreadsheet."""
    made = (billing_mapping, offboarding_mapping, planner_mapping, customers_mapping)
    return {m.name: m for m in (make(spreadsheet) for make in made)}

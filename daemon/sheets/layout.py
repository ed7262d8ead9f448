"""Where each sheet lives and which column holds each field, from `[sheets]` configuration.

The one place that knows each sheet's fields and key: the projection fills exactly these
fields, the configuration may only name these, and the offboarding sheet gets one more
column per `[offboarding] items` entry, headed by the item's name.
"""

from __future__ import annotations

from daemon.schema import ConfigError
from integrations.sheets.mapping import SheetMapping

# The sheets the daemon writes, in the order a flush writes them.
WRITTEN = ("billing", "offboarding", "planner")
CUSTOMERS = "customers"

FIELDS: dict[str, tuple[str, ...]] = {
    "billing": ("account", "item_id", "client", "service", "monthly_amount", "stop_date", "case_ref", "status"),
    "offboarding": ("case_ref", "client", "final_day", "reason", "owner", "status"),
    "planner": ("case_ref", "account", "client", "kind", "effective_date", "resume_date", "reason", "status"),
    CUSTOMERS: (
        "account_id",
        "name",
        "timezone",
        "contract_start",
        "term_months",
        "notice_days",
        "account_manager",
        "team_lead",
        "contacts",
        "team",
        "billing_items",
    ),
}
KEYS: dict[str, tuple[str, ...]] = {
    "billing": ("account", "item_id"),
    "offboarding": ("case_ref",),
    "planner": ("case_ref",),
    CUSTOMERS: ("account_id",),
}
CHECKLIST_PREFIX = "item:"
# How a billing person reads these fields: real dates, and amounts in the desk's currency.
FORMATS = {
    "stop_date": "date",
    "final_day": "date",
    "effective_date": "date",
    "resume_date": "date",
    "monthly_amount": "amount",
}


def checklist_field(item_name: str) -> str:
    """The offboarding row's field for one checklist item (its header is the name itself)."""
    return CHECKLIST_PREFIX + item_name


def checklist_names(offboarding_items: tuple[str, ...]) -> tuple[str, ...]:
    """'Revoke tool access -> team' -> 'Revoke tool access', as daemon.playbook.offboarding names items."""
    return tuple(line.partition("->")[0].strip() for line in offboarding_items)


def mappings(sheets, checklist: tuple[str, ...], path: str = "sheets", currency: str = "") -> dict[str, SheetMapping]:
    """Every sheet's mapping by name; a bad column list is a ConfigError naming its key."""
    found = {}
    for name in (*WRITTEN, CUSTOMERS):
        columns = _columns(name, getattr(sheets, f"{name}_columns"), f"{path}.{name}_columns")
        if name == "offboarding":
            columns.update({checklist_field(item): item for item in checklist})
        spreadsheet = getattr(sheets, f"{name}_spreadsheet") or sheets.spreadsheet
        try:
            formats = {f: kind for f, kind in FORMATS.items() if f in columns}
            found[name] = SheetMapping(
                name, spreadsheet, getattr(sheets, f"{name}_worksheet"), KEYS[name], columns, formats, currency
            )
        except ValueError as exc:
            raise ConfigError(f"{path}.{name}_columns: {exc}") from None
    return found


def _columns(sheet: str, entries: tuple[str, ...], key: str) -> dict[str, str]:
    columns: dict[str, str] = {}
    for i, entry in enumerate(entries):
        field, colon, header = (part.strip() for part in entry.partition(":"))
        if not colon or not header:
            raise ConfigError(f'{key}[{i}]: expected "FIELD: Header text", got {entry!r}')
        if field not in FIELDS[sheet]:
            raise ConfigError(f"{key}[{i}]: unknown field {field!r} (fields: {', '.join(FIELDS[sheet])})")
        columns[field] = header
    missing = [f for f in KEYS[sheet] if f not in columns]
    if missing:
        raise ConfigError(f"{key}: the key field(s) {', '.join(missing)} must have a column")
    return columns

"""Configuration section of the sheets: backend, quotas, and the column mapping of each sheet.

Part of the schema in `daemon.config` (which re-exports it); documented in
`config.example.toml` under [sheets].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from daemon.schema import ConfigError
from daemon.sheets.layout import mappings


@dataclass(frozen=True)
class SheetsConfig:
    backend: Literal["xlsx", "google"] = "xlsx"
    path: str = "sheets.xlsx"
    spreadsheet: str = ""
    service_account_file: str = ""
    service_account_env: str = "CANCELDESK_GOOGLE_SERVICE_ACCOUNT"
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    max_attempts: int = 5
    writes_per_minute: int = 60
    reads_per_minute: int = 60
    flush_interval_seconds: float = 10.0
    retry_after_seconds: float = 30.0
    reconcile_interval_minutes: float = 60.0
    billing_spreadsheet: str = ""
    billing_worksheet: str = "Billing"
    billing_columns: tuple[str, ...] = (
        "account: Account",
        "item_id: Item ID",
        "client: Client",
        "service: Service",
        "monthly_amount: Monthly amount",
        "stop_date: Stop date",
        "case_ref: Case",
        "status: Status",
    )
    offboarding_spreadsheet: str = ""
    offboarding_worksheet: str = "Offboarding"
    offboarding_columns: tuple[str, ...] = (
        "case_ref: Case",
        "client: Client",
        "final_day: Final day",
        "reason: Reason",
        "owner: Owner",
        "status: Status",
    )
    planner_spreadsheet: str = ""
    planner_worksheet: str = "Planner"
    planner_columns: tuple[str, ...] = (
        "case_ref: Case",
        "account: Account",
        "client: Client",
        "kind: Kind",
        "effective_date: Effective date",
        "resume_date: Resume date",
        "reason: Reason",
        "status: Status",
    )
    customers_spreadsheet: str = ""
    customers_worksheet: str = "Customers"
    customers_columns: tuple[str, ...] = (
        "account_id: Account ID",
        "name: Name",
        "timezone: Time zone",
        "contract_start: Contract start",
        "term_months: Term months",
        "notice_days: Notice days",
        "account_manager: Account manager",
        "team_lead: Team lead",
        "contacts: Contacts",
        "team: Team",
        "billing_items: Billing items",
    )

    def validate(self, path: str) -> None:

        if self.writes_per_minute < 1 or self.reads_per_minute < 1 or self.max_attempts < 1:
            raise ConfigError(f"{path}: writes_per_minute, reads_per_minute and max_attempts must be at least 1")
        if self.flush_interval_seconds < 0 or self.retry_after_seconds <= 0:
            raise ConfigError(f"{path}: flush_interval_seconds must be 0 or more, retry_after_seconds above 0")
        mappings(self, (), path)

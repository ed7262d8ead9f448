"""Configuration sections of the manager's and operator's view: the report and digest, and health.

Part of the schema in `daemon.config` (which re-exports these classes); documented in
`config.example.toml` under [report] and [health].
"""

from __future__ import annotations

from dataclasses import dataclass

from daemon.schema import ConfigError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class ReportConfig:
    currency: str = "GBP"
    digest_roles: tuple[str, ...] = ()
    digest_day: str = "mon"
    digest_time: str = "08:00"

    def validate(self, path: str) -> None:
        if self.digest_day not in WEEKDAYS:
            raise ConfigError(f"{path}.digest_day: one of {', '.join(WEEKDAYS)}, got {self.digest_day!r}")
        hour, _, minute = self.digest_time.partition(":")
        if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
            raise ConfigError(f"{path}.digest_time: write it HH:MM, got {self.digest_time!r}")

    @property
    def digest_weekday(self) -> int:
        return WEEKDAYS.index(self.digest_day)

    @property
    def digest_hour_minute(self) -> tuple[int, int]:
        hour, _, minute = self.digest_time.partition(":")
        return int(hour), int(minute)


@dataclass(frozen=True)
class HealthConfig:
    http_port: int = 0
    oldest_mail_minutes: int = 30

    def validate(self, path: str) -> None:
        if not 0 <= self.http_port < 65536:
            raise ConfigError(f"{path}.http_port: 0 (off) or a port number, got {self.http_port}")

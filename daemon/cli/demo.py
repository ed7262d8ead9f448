"""`canceldesk demo`: the embedded default set up under one folder, for `make run`.

Writes a configuration (Maildir inbox, SQLite, .eml outbox, staff from the example
accounts), imports the example accounts, and delivers the demo requests into the inbox
once, so a newcomer sees cases open and acknowledgments appear under `var/outbox/`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from daemon.accounts_import import import_rows, read_rows
from daemon.app import build_desk, ensure_dirs, local_path
from daemon.config import load
from daemon.db import transaction
from integrations.maildir import deliver

log = logging.getLogger(__name__)

DOCS = Path(__file__).resolve().parents[2] / "docs"

# The staff of the example accounts (docs/accounts.example.csv); the tests use them too.
# Everyone the accounts name is here: account managers and team leads with the role the
# commands give them, and the service teams' specialists, who need no role of their own
# (any staff member may tick an offboarding item with #done, add a #note or ask #status).
DEMO_STAFF = """\
[staff]
members = [
  { email = "amy@agency.example", name = "Amy", roles = ["account_manager", "retention"] },
  { email = "bob@agency.example", name = "Bob", roles = ["account_manager"] },
  { email = "tom@agency.example", name = "Tom", roles = ["team_lead"] },
  { email = "dana@agency.example", name = "Dana", roles = ["director"] },
  { email = "gary@agency.example", name = "Gary", roles = ["general_manager"] },
  { email = "fin@agency.example", name = "Fin", roles = ["finance"] },
  { email = "acc@agency.example", name = "Acca", roles = ["accounting"] },
  { email = "sam@agency.example", name = "Sam", roles = [] },
  { email = "pia@agency.example", name = "Pia", roles = [] },
  { email = "sol@agency.example", name = "Sol", roles = [] },
  { email = "cora@agency.example", name = "Cora", roles = [] },
  { email = "web@agency.example", name = "Wes", roles = [] },
  { email = "eve@agency.example", name = "Eve", roles = [] },
]
"""

# One zone for everything staff read or type (notices, call invites, #call, timers) and for
# the business hours the deadlines count in; customers read their account's own zone.
DEMO_ZONE = "Europe/London"

DEMO_CONFIG = (
    f"""\
# Written by `canceldesk demo` for `make run`; see config.example.toml for every key.
[desk]
address = "cancel@agency.example"
name = "Agency cancellation desk"
company = "Agency"
timezone = "{DEMO_ZONE}"

[business]
timezone = "{DEMO_ZONE}"
holidays_country = "GB"

[mailbox]
url = "maildir:inbox"
poll_seconds = 2

[smtp]
url = "file:outbox"

[database]
url = "sqlite:///canceldesk.db"

[auth]
# The demo's staff mail (docs/demo/05-staff-commands.eml) carries this server's header.
authserv_ids = ["mx.agency.example"]

"""
    + DEMO_STAFF
)


def set_up(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / "config.toml"
    if not config_path.exists():
        config_path.write_text(DEMO_CONFIG, encoding="utf-8")
        log.info("wrote %s", config_path)
    config = load(config_path)
    ensure_dirs(config)
    desk = build_desk(config)
    with transaction(desk.factory) as session:
        report = import_rows(session, read_rows(DOCS / "accounts.example.csv"))
    log.info("demo accounts: %s", report.summary())
    _deliver_demo_mail(local_path(config, config.mailbox.url, "maildir"), folder / ".demo-delivered")
    desk.engine.dispose()
    return config_path


def _deliver_demo_mail(maildir: Path, marker: Path) -> None:

    if marker.exists():
        log.info("demo requests were delivered before; drop more .eml files into %s/new to see more", maildir)
        return
    for eml in sorted((DOCS / "demo").glob("*.eml")):
        deliver(maildir, eml.read_bytes())
        log.info("delivered demo request %s", eml.name)
    marker.write_text("delivered\n", encoding="utf-8")

"""`canceldesk accounts import`: the same file twice changes nothing; a changed row updates in place."""
from __future__ import annotations

import csv
from decimal import Decimal

from sqlalchemy import select

from daemon.db import transaction
from daemon.models import Account, BillingItem, Contact, TeamMember
from tests.support import EXAMPLE_ACCOUNTS, build_test_desk, config_text, run_cli


def _config(tmp_path, database_url):
    path = tmp_path / "config.toml"
    path.write_text(config_text(database_url), encoding="utf-8")
    return path


def _import(capsys, config, file) -> tuple[int, str]:
    code = run_cli("--config", str(config), "accounts", "import", str(file))
    return code, capsys.readouterr().out


def _on_file(desk, key: str) -> dict:
    with transaction(desk.factory) as session:
        account = session.scalars(select(Account).where(Account.key == key)).one()
        return {
            "fields": (account.name, account.timezone, account.notice_days, account.account_manager),
            "contacts": sorted((c.email, c.name, c.id) for c in account.contacts),
            "team": sorted((m.service, m.email, m.id) for m in account.team),
            "billing": sorted((i.item_key, i.service, Decimal(i.monthly_amount), i.id) for i in account.billing_items),
        }


def _rows_everywhere(desk) -> tuple:
    with transaction(desk.factory) as session:
        return tuple(sorted(session.execute(select(*model.__table__.columns)).all())
                     for model in (Account, Contact, TeamMember, BillingItem))


def _rewrite(source, target, **changes) -> None:
    """The example file with some cells of some accounts changed: {account_id: {column: value}}."""
    with source.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row.update(changes.get(row["account_id"], {}))
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_importing_the_same_file_twice_changes_nothing_and_says_so(tmp_path, database_url, capsys):
    config = _config(tmp_path, database_url)
    assert _import(capsys, config, EXAMPLE_ACCOUNTS) == (0, f"imported 3 accounts (3 created) from {EXAMPLE_ACCOUNTS}\n")
    desk = build_test_desk(tmp_path, database_url, accounts=False)
    first = _rows_everywhere(desk)
    assert len(first[2]) >= 8 and len(first[3]) >= 8  # team members and billing items are there to collide

    assert _import(capsys, config, EXAMPLE_ACCOUNTS) == (0, f"imported 3 accounts (3 unchanged) from {EXAMPLE_ACCOUNTS}\n")
    assert _rows_everywhere(desk) == first
    desk.engine.dispose()


def test_a_changed_row_updates_its_account_team_and_billing_in_place(tmp_path, database_url, capsys):
    config = _config(tmp_path, database_url)
    _import(capsys, config, EXAMPLE_ACCOUNTS)
    desk = build_test_desk(tmp_path, database_url, accounts=False)
    before = _on_file(desk, "ACME")
    changed = tmp_path / "accounts.csv"
    _rewrite(EXAMPLE_ACCOUNTS, changed, ACME={
        "notice_days": "60",
        "contacts": "Jane Doe-Smith <jane@acme.example>",                       # ops@ removed, Jane renamed
        "team": "SEO: sam@agency.example, sol@agency.example; PPC: pia@agency.example",  # Social, Content gone
        "billing_items": "B-1001 SEO 1350.00; B-1002 PPC 800.00; B-1005 Email 99.50",     # 1003/1004 gone
    })

    assert _import(capsys, config, changed) == (0, f"imported 3 accounts (1 updated, 2 unchanged) from {changed}\n")

    after = _on_file(desk, "ACME")
    assert after["fields"] == ("Acme Outdoor Ltd", "Europe/London", 60, "amy@agency.example")
    assert [c[:2] for c in after["contacts"]] == [("jane@acme.example", "Jane Doe-Smith")]
    assert [m[:2] for m in after["team"]] == [("PPC", "pia@agency.example"), ("SEO", "sam@agency.example"),
                                              ("SEO", "sol@agency.example")]
    assert [i[:3] for i in after["billing"]] == [("B-1001", "SEO", Decimal("1350.00")),
                                                 ("B-1002", "PPC", Decimal("800.00")),
                                                 ("B-1005", "Email", Decimal("99.50"))]
    # What stayed is the same row, changed in place, not deleted and added again.
    kept_ids = {m[2] for m in before["team"] if m[:2] in {("PPC", "pia@agency.example"), ("SEO", "sam@agency.example")}}
    assert kept_ids <= {m[2] for m in after["team"]}
    assert {i[3] for i in before["billing"] if i[0] in ("B-1001", "B-1002")} <= {i[3] for i in after["billing"]}
    with transaction(desk.factory) as session:
        assert session.scalar(select(Contact).where(Contact.email == "ops@acme.example")) is None

    assert _import(capsys, config, changed) == (0, f"imported 3 accounts (3 unchanged) from {changed}\n")
    desk.engine.dispose()


def test_a_row_that_lists_one_billing_item_twice_is_reported_not_a_crash(tmp_path, database_url, capsys):
    config = _config(tmp_path, database_url)
    changed = tmp_path / "accounts.csv"
    _rewrite(EXAMPLE_ACCOUNTS, changed, GLOBEX={"billing_items": "B-2001 SEO 900.00; B-2001 Website 150.00"})
    code, out = _import(capsys, config, changed)
    assert code == 1
    assert out.splitlines() == [f"imported 2 accounts (2 created) from {changed}",
                                "  skipped row 3: billing_items: item B-2001 is listed twice"]


def test_language_column_is_read_and_checked(session_factory_for_import=None):
    from daemon.accounts_import import RowProblem, _language

    assert _language(" DE ") == "de" and _language("") is None
    try:
        _language("klingon")
    except RowProblem as exc:
        assert "klingon" in str(exc) and "de, fr" in str(exc)
    else:
        raise AssertionError("an unknown language was accepted")

"""`canceldesk replay FILE --dry-run`: what any mail would do, said in words, with nothing changed."""
from __future__ import annotations

import pytest

from tests.pipeline.mailkit import JANE, fixture, open_request
from tests.pipeline.test_robots import our_dsn
from tests.support import REPO, build_test_desk, config_text, database_rows, mail, run_cli

AUTH = '[auth]\nauthserv_ids = ["mx.agency.example"]\n'   # the receiving server of docs/demo/05


@pytest.fixture
def desk_and_config(tmp_path, database_url):
    desk = build_test_desk(tmp_path, database_url, extra=AUTH)
    config = tmp_path / "config.toml"
    config.write_text(config_text(database_url, extra=AUTH), encoding="utf-8")
    yield desk, config
    desk.engine.dispose()


def _dry_run(capsys, config, raw: bytes) -> str:
    path = config.parent / "replayed.eml"
    path.write_bytes(raw)
    assert run_cli("--config", str(config), "replay", str(path), "--dry-run") == 0
    return capsys.readouterr().out


def _everything(desk) -> tuple:
    outbox = desk.config.path("outbox")
    return database_rows(desk), sorted(p.name for p in outbox.iterdir())


def test_dry_run_of_each_kind_of_mail_says_what_would_happen_and_changes_nothing(desk_and_config, capsys):
    desk, config = desk_and_config
    case, ack = open_request(desk)
    assert case.reference == "CX-2026-0001"  # the case docs/demo/05 writes about
    before = _everything(desk)
    thread = {"In_Reply_To": ack["Message-ID"], "References": ack["Message-ID"], "Subject": f"Re: {ack['Subject']}"}

    staff = _dry_run(capsys, config, (REPO / "docs" / "demo" / "05-staff-commands.eml").read_bytes())
    assert staff.startswith("would be: staff (mail from staff); action staff; case CX-2026-0001")
    assert "would add to the timeline of CX-2026-0001: reason: results: no new leads from SEO" in staff
    assert "would send mail to amy@agency.example: Re: " in staff

    reply = _dry_run(capsys, config, fixture("thunderbird_reply", From=f"Jane Doe <{JANE}>", **thread))
    assert "case CX-2026-0001" in reply.splitlines()[0]
    assert "would add to the timeline of CX-2026-0001: mail_in" in reply

    away = _dry_run(capsys, config, fixture("out_of_office_auto_reply", From=f"Jane Doe <{JANE}>", **thread))
    assert away.startswith("would be: robot:auto-reply")
    assert "would send mail" not in away

    bounce = _dry_run(capsys, config, our_dsn(bytes(ack), JANE))
    assert bounce.startswith("would be: robot:bounce")
    assert any(line.startswith("  would change contacts #") and line.endswith(": bouncing False -> True")
               for line in bounce.splitlines())
    assert "would send mail" not in bounce

    other_contact = _dry_run(capsys, config, mail(sender="ops@acme.example", subject="Social",
                                                  body="Please cancel our Social service as well.\n"))
    assert other_contact.startswith("would be: request:cancel")
    assert "case CX-2026-0001" in other_contact.splitlines()[0]

    stranger = _dry_run(capsys, config, mail(sender="someone@freemail.example", body="Please cancel my account.\n"))
    assert "would open case CX-2026-0002 (cancel, awaiting_identity)" in stranger
    assert "would send mail to someone@freemail.example: " in stranger

    for out in (staff, reply, away, bounce, other_contact, stranger):
        assert out.endswith("dry run: nothing was changed\n")
    assert _everything(desk) == before


def test_dry_run_prints_how_each_clause_was_read(desk_and_config, capsys):
    desk, config = desk_and_config
    out = _dry_run(capsys, config, mail(body="The company is no good, please terminate my account.\n"
                                             "Keep the SEO running until March.\n"))
    assert "read: request \"please terminate my account.\" action='terminate' object='account'" in out

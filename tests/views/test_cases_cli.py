"""`canceldesk cases list|show`, `accounts list`, `templates preview` on a desk seeded by mail."""
from __future__ import annotations

import json

import pytest

from tests.pipeline.mailkit import sent

STATES = {"CX-2026-0001": "saved", "CX-2026-0002": "offboarding", "CX-2026-0003": "paused",
          "CX-2026-0004": "pending_approval", "CX-2026-0005": "awaiting_identity"}


def _refs(out: str) -> list[str]:
    return [row["reference"] for row in json.loads(out)]


def test_cases_list_shows_every_case_with_who_it_waits_for(seeded, cli):
    code, out, _ = cli(seeded, "cases", "list")
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert {ref: lines[ref].split()[2] for ref in lines} == STATES
    assert "approver: retention" in lines["CX-2026-0004"] and "OVERDUE" in lines["CX-2026-0004"]
    assert "customer" in lines["CX-2026-0005"]
    assert "Globex Dental" in lines["CX-2026-0002"] and "offboarding:" in lines["CX-2026-0002"]
    assert "OVERDUE" not in out.replace(lines["CX-2026-0004"], "")


def test_cases_list_json_carries_the_same_rows(seeded, cli):
    code, out, _ = cli(seeded, "cases", "list", "--json")
    rows = {row["reference"]: row for row in json.loads(out)}
    assert code == 0 and {ref: row["state"] for ref, row in rows.items()} == STATES
    assert rows["CX-2026-0003"]["owner"] == "bob@agency.example"
    assert rows["CX-2026-0002"]["outcome"] == "lost" and rows["CX-2026-0001"]["waiting_for"] == ""


@pytest.mark.parametrize("args, expected", [
    (["--overdue"], ["CX-2026-0004"]),
    (["--waiting", "customer"], ["CX-2026-0005"]),
    (["--waiting", "approver"], ["CX-2026-0004"]),
    (["--account", "acme"], ["CX-2026-0001", "CX-2026-0004"]),
    (["--state", "paused"], ["CX-2026-0003"]),
    (["--kind", "pause"], ["CX-2026-0003"]),
    (["--owner", "bob@agency.example"], ["CX-2026-0003"]),
    (["--account", "GLOBEX", "--state", "saved"], []),
])
def test_cases_list_filters(seeded, cli, args, expected):
    code, out, _ = cli(seeded, "cases", "list", "--json", *args)
    assert (_refs(out), code) == (expected, 0 if expected else 1)


def test_cases_show_tells_the_whole_story_of_a_lost_case(seeded, cli):
    code, out, _ = cli(seeded, "cases", "show", "cx-2026-0002")
    assert code == 0
    ack = next(m for m in sent(seeded) if "hank@globex.example" in str(m["To"])
               and "[CX-2026-0002]" in str(m["Subject"]))   # the first mail to him: the acknowledgment
    assert ack["Message-ID"] in out                                   # mail out, with its Message-ID
    mail_in = [line.split() for line in out.splitlines() if " mail_in " in line]
    assert [words[3:5] for words in mail_in] == [["hank@globex.example", "Kündigung"]]   # mail in, from whom
    assert "no call scheduled yet: reminded amy@agency.example" in out   # the SLA timer that chased
    assert "accounting step approved by acc@agency.example" in out
    for section in ("Timeline", "Reasons", "Decisions", "Approvals", "Timers", "Mail and effects sent",
                    "Sheet rows: billing", "Sheet rows: planner"):
        assert f"\n{section}\n" in out, section
    assert "GLOBEX   Globex Dental  B-2001   SEO      900.00" in out


def test_cases_show_json_has_the_commands_and_who_ran_them(seeded, cli):
    code, out, _ = cli(seeded, "cases", "show", "CX-2026-0001", "--json")
    detail = json.loads(out)
    commands = [e for e in detail["timeline"] if e["kind"] == "commands"]
    assert code == 0 and [c["actor"] for c in commands] == ["amy@agency.example"]
    assert commands[0]["message_id"].endswith("@client.example>")    # the staff mail that carried them
    assert detail["offers"][0]["outcome"] == "accepted" and detail["reasons"][0]["category"] == "price"
    assert [d["decision"] for d in detail["decisions"]] == ["keep"]
    assert {t["status"] for t in detail["timers"]} == {"cancelled"}


def test_unknown_case_is_exit_1(seeded, cli):
    code, _, err = cli(seeded, "cases", "show", "CX-2026-0999")
    assert code == 1 and "no case CX-2026-0999" in err


def test_accounts_list(seeded, cli):
    code, out, _ = cli(seeded, "accounts", "list", "--json")
    rows = {row["key"]: row for row in json.loads(out)}
    assert code == 0 and set(rows) == {"ACME", "GLOBEX", "INITECH"}
    assert rows["ACME"]["open_cases"] == ["CX-2026-0004"] and rows["ACME"]["monthly"] == "3050.00"
    assert rows["INITECH"]["open_cases"] == ["CX-2026-0003"]   # a running pause is not over
    code, out, _ = cli(seeded, "accounts", "list")
    assert "Initech Plumbing" in out and "bob@agency.example" in out


def test_templates_preview_fills_a_real_case(seeded, cli):
    code, out, _ = cli(seeded, "templates", "preview", "acknowledgment", "--case", "CX-2026-0003")
    assert code == 0 and out.startswith("Subject: ") and "Peter" in out
    code, out, _ = cli(seeded, "templates", "preview", "approval_reminder", "--case", "CX-2026-0004")
    assert code == 0 and "Acme Outdoor Ltd" in out and "‹role›" in out
    assert "filled when the desk sends it: " in out


def test_templates_preview_of_an_unknown_template_names_the_known_ones(seeded, cli):
    code, _, err = cli(seeded, "templates", "preview", "acknowledgement", "--case", "CX-2026-0003")
    assert code == 2 and "acknowledgment" in err


def test_every_view_command_has_help(capsys):
    from daemon.cli import main

    for args in (["cases", "list"], ["cases", "show"], ["accounts", "list"], ["templates", "preview"],
                 ["report"], ["health"]):
        with pytest.raises(SystemExit) as exit_:
            main([*args, "--help"])
        assert exit_.value.code == 0 and "usage: canceldesk" in capsys.readouterr().out

"""`canceldesk check` through the command line: it connects to the relay for real (aiosmtpd),
probes a file outbox, and names the staff and role problems that would stall cases.

Exit codes: 0 all fine, 1 a part failed, 2 the configuration must change.
"""
from __future__ import annotations

import pytest

from daemon.cli.demo import DEMO_STAFF, set_up
from tests.servers.ports import free_port
from tests.support import run_cli

USERS = {"desk": "s3cret-pass"}
AUTH = '[auth]\nauthserv_ids = ["mx.agency.example"]\n'


def checked(tmp_path, capsys, text: str, staff: str = DEMO_STAFF, auth: str = AUTH) -> tuple[int, dict[str, list[str]]]:
    """Run `canceldesk check` on a configuration; the exit code and each part's lines."""
    path = tmp_path / "config.toml"
    path.write_text(f"[database]\nurl = 'sqlite:///cd.db'\n{text}\n{auth}\n{staff}", encoding="utf-8")
    code = run_cli("--config", str(path), "check")
    parts: dict[str, list[str]] = {}
    for line in capsys.readouterr().out.splitlines():
        part, _, rest = line.partition(" ")
        parts.setdefault(part, []).append(rest.strip())
    return code, parts


# -- the relay ------------------------------------------------------------------------------


def test_a_closed_smtp_port_is_one_line_naming_the_address_and_exit_1(tmp_path, capsys):
    port = free_port()
    code, parts = checked(tmp_path, capsys, f"[smtp]\nurl = 'smtp://127.0.0.1:{port}?starttls=no'\ntimeout = 5.0")

    [line] = parts["smtp"]
    assert line.startswith(f"FAILED  cannot connect to 127.0.0.1:{port}:") and "refused" in line
    assert "smtp.url" in line
    assert code == 1


@pytest.mark.parametrize("smtp_server", [{"tls": "starttls", "users": USERS}], indirect=True)
def test_a_wrong_smtp_password_names_the_variable_not_the_value(tmp_path, capsys, monkeypatch, smtp_server):
    trust(monkeypatch, smtp_server)
    monkeypatch.setenv("CANCELDESK_SMTP_PASSWORD", "hunter2-wrong")
    code, parts = checked(tmp_path, capsys, f"[smtp]\nurl = 'smtp://desk@127.0.0.1:{smtp_server.port}'")

    [line] = parts["smtp"]
    assert line.startswith(f"FAILED  127.0.0.1:{smtp_server.port} refused the login of 'desk'")
    assert "535" in line and "$CANCELDESK_SMTP_PASSWORD (smtp.password_env)" in line
    assert "hunter2" not in line
    assert smtp_server.messages == []
    assert code == 1


@pytest.mark.parametrize("smtp_server", [{"tls": "starttls", "users": USERS}], indirect=True)
def test_a_missing_smtp_password_variable_is_a_configuration_problem(tmp_path, capsys, monkeypatch, smtp_server):
    monkeypatch.delenv("CD_CHECK_SMTP_SECRET", raising=False)
    code, parts = checked(tmp_path, capsys, f"[smtp]\nurl = 'smtp://desk@127.0.0.1:{smtp_server.port}'\n"
                                            "password_env = 'CD_CHECK_SMTP_SECRET'")

    assert parts["smtp"] == ["FAILED  smtp.password_env: the environment variable CD_CHECK_SMTP_SECRET is not set "
                             "(set it, or smtp.password_command)"]
    assert smtp_server.greetings == 0   # no secret, no connection
    assert code == 2


@pytest.mark.parametrize("smtp_server", [{"tls": "starttls", "users": USERS}], indirect=True)
def test_a_working_relay_is_logged_into_and_left_without_sending(tmp_path, capsys, monkeypatch, smtp_server):
    trust(monkeypatch, smtp_server)
    monkeypatch.setenv("CANCELDESK_SMTP_PASSWORD", USERS["desk"])
    code, parts = checked(tmp_path, capsys, f"[smtp]\nurl = 'smtp://desk@127.0.0.1:{smtp_server.port}'")

    assert parts["smtp"] == [f"ok      127.0.0.1:{smtp_server.port} (starttls), logged in as desk; no mail sent"]
    assert smtp_server.greetings == 2   # EHLO, STARTTLS, EHLO again
    assert smtp_server.messages == []
    assert code == 0


def trust(monkeypatch, server) -> None:
    # `check` builds the sender as the daemon does, with the system's trust store.
    monkeypatch.setenv("SSL_CERT_FILE", str(server.tls_material.cert_path))


def test_a_file_outbox_gets_a_probe_file_written_and_removed(tmp_path, capsys):
    code, parts = checked(tmp_path, capsys, "[smtp]\nurl = 'file:mail/out'")

    assert parts["smtp"] == [f"ok      wrote and removed a probe file in {tmp_path / 'mail' / 'out'}"]
    assert list((tmp_path / "mail" / "out").iterdir()) == []
    assert code == 0


def test_the_demo_configuration_passes_every_check(tmp_path, capsys):
    config_path = set_up(tmp_path / "demo")
    capsys.readouterr()

    code = run_cli("--config", str(config_path), "check")

    lines = capsys.readouterr().out.splitlines()
    assert all(line.split()[1] == "ok" for line in lines), lines
    assert any("wrote and removed a probe file" in line for line in lines)
    assert code == 0


# -- staff and roles --------------------------------------------------------------------------


def staff(*members: str) -> str:
    return "[staff]\nmembers = [\n" + ",\n".join(members) + "\n]\n"


AMY = '{ email = "amy@agency.example", roles = ["account_manager", "retention"] }'
GARY = '{ email = "gary@agency.example", roles = ["general_manager"] }'
FIN = '{ email = "fin@agency.example", roles = ["finance"] }'
ACCA = '{ email = "acc@agency.example", roles = ["accounting"] }'
DANA = '{ email = "dana@agency.example", roles = ["director"] }'


def test_an_approval_role_nobody_holds_is_named_with_its_chain_step(tmp_path, capsys):
    code, parts = checked(tmp_path, capsys, "", staff=staff(AMY, GARY, FIN, ACCA))   # no director

    assert parts["roles"] == ["FAILED  approvals.chain[1]: nobody in [staff] holds the role 'director': every case "
                              "waits at that step for ever (give a member that role, or change the chain)"]
    assert parts["staff"] == ["ok"]
    assert code == 2


@pytest.mark.parametrize("member, line", [
    ('{ email = "rita@agency.example", name = "Rita", roles = ["retension"] }',
     "staff.members: rita@agency.example has the role 'retension', which no command, approval step or "
     "offboarding item uses (did you mean 'retention'?)"),
    ('{ email = "tom at agency.example", name = "Tom", roles = ["team_lead"] }',
     "staff.members: 'tom at agency.example' is not an e-mail address (member 'Tom')"),
], ids=["role typo", "not an address"])
def test_a_staff_member_the_desk_cannot_use_is_named(tmp_path, capsys, member, line):
    code, parts = checked(tmp_path, capsys, "", staff=staff(AMY, DANA, GARY, FIN, ACCA, member))

    assert parts["staff"] == [f"FAILED  {line}"]
    assert code == 2


def test_a_command_override_nobody_can_use_is_named_with_its_key(tmp_path, capsys):
    code, parts = checked(tmp_path, capsys, "[commands.roles]\ncancel = ['retension']\ncancle = ['retention']",
                          staff=staff(AMY, DANA, GARY, FIN, ACCA))

    assert parts["roles"] == [
        "FAILED  commands.roles.cancle: no such command (did you mean 'cancel'?)",
        "FAILED  commands.roles.cancel: nobody in [staff] holds 'retension', so nobody can run #cancel"]
    assert code == 2


def test_empty_authserv_ids_without_local_dkim_means_no_command_can_pass(tmp_path, capsys):
    code, parts = checked(tmp_path, capsys, "", auth="[auth]\nauthserv_ids = []\nverify_dkim_locally = false\n")

    assert parts["auth"] == ["FAILED  auth.authserv_ids: empty and no local DKIM check (auth.verify_dkim_locally, "
                             "auth.accept): no staff #command can ever pass (set your receiving server's "
                             "authserv-id)"]
    assert code == 2


def test_empty_authserv_ids_with_local_dkim_is_a_warning(tmp_path, capsys):
    code, parts = checked(tmp_path, capsys, "", auth="[auth]\nauthserv_ids = []\n")

    [line] = parts["auth"]
    assert line.startswith("warning auth.authserv_ids: empty: no Authentication-Results header is trusted")
    assert code == 0


def test_a_failed_part_and_a_bad_configuration_exit_2(tmp_path, capsys):
    code, parts = checked(tmp_path, capsys, f"[smtp]\nurl = 'smtp://127.0.0.1:{free_port()}?starttls=no'",
                          staff=staff(AMY))

    assert parts["smtp"][0].startswith("FAILED  cannot connect")
    assert parts["roles"][0].startswith("FAILED  approvals.chain[1]")
    assert code == 2

"""`canceldesk health` and its HTTP endpoint: all well on a working desk, exit 1 when a person is needed."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import timedelta

from daemon.views import health
from daemon.intake import store
from daemon.db import transaction
from tests.support import build_test_desk, mail


def test_a_working_desk_is_all_well(seeded, cli):
    code, out, _ = cli(seeded, "health")
    assert code == 0 and out.rstrip().endswith("all well")
    for part in ("database", "mailbox", "smtp", "sheets"):
        assert f"{part:<14} ok" in out
    code, out, _ = cli(seeded, "health", "--json")
    found = json.loads(out)
    assert (code, found["ok"], found["waiting_mails"], found["failed_outbox"], found["set_aside_mails"]) == \
        (0, True, 0, 0, 0)


def test_inbox_down_and_a_mail_waiting_too_long_need_a_person(database_url, tmp_path, cli, monkeypatch):
    monkeypatch.setenv("CANCELDESK_IMAP_PASSWORD", "secret")
    desk = build_test_desk(tmp_path, database_url, mailbox_url="imap://desk@127.0.0.1:1/INBOX?starttls=no")
    with transaction(desk.factory) as session:   # stored by intake, not yet processed
        store.store(session, mailbox="INBOX", uidvalidity=1, uid=7, raw=mail(), now=desk.clock.now())
    desk.clock.advance(timedelta(minutes=45))
    code, out, _ = cli(desk, "health")
    assert code == 1
    assert "mailbox        DOWN" in out and "mail waiting   1, oldest waiting 45 min" in out
    assert "NEEDS A PERSON: mailbox unreachable" in out and "a mail has waited 45 minutes (limit 30)" in out
    server = health.serve(desk, 0)
    try:
        url = f"http://127.0.0.1:{server.server_port}/health"
        try:
            urllib.request.urlopen(url, timeout=30)
            raise AssertionError("a desk that needs a person answered 200")
        except urllib.error.HTTPError as answer:
            assert answer.code == 503
            body = json.loads(answer.read())
        assert body["ok"] is False and body["waiting_mails"] == 1 and body["parts"]["database"] == "ok"
    finally:
        server.shutdown()
        server.server_close()
        desk.engine.dispose()

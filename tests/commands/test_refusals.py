"""Refusals, each with a clear reply and no change: unknown, wrong role, wrong state, bad arguments, customers."""
from __future__ import annotations

from sqlalchemy import func, select

from daemon.db import transaction
from daemon.models import Case, CaseEvent, InboundMessage, MessageStatus
from tests.commands.helpers import (command_desk, open_case, results_for, run, sent_to, staff_mail, text,
                                    the_case)
from tests.support import mail


def test_unknown_command_is_refused_and_the_other_lines_still_run(desk):
    notice = open_case(desk)
    body = text(results_for(desk, staff_mail("#frobnicate now\n#note still here\n", answering=notice)))
    assert "\"#frobnicate now\"  ->  unknown command #frobnicate (#help lists them)" in body
    assert "\"#note still here\"  ->  note added to CX-2026-0001" in body


def test_staff_without_the_role_is_refused(desk):
    notice = open_case(desk)
    body = text(results_for(desk, staff_mail("#withdrawn\n", sender="Gary <gary@agency.example>", answering=notice),
                            "gary@agency.example"))
    assert "#withdrawn may be run by account_manager, retention or team_lead (your roles: general_manager)" in body
    assert the_case(desk)["state"] == "open"


def test_roles_come_from_the_configuration_when_set(database_url, tmp_path):
    desk = command_desk(tmp_path, database_url, extra='[commands.roles]\nwithdrawn = ["director"]\n')
    try:
        notice = open_case(desk)
        refused = text(results_for(desk, staff_mail("#withdrawn\n", answering=notice)))
        assert "#withdrawn may be run by director (your roles: account_manager, retention)" in refused
        done = text(results_for(desk, staff_mail("#withdrawn\n", sender="dana@agency.example", answering=notice),
                                "dana@agency.example"))
        assert "is now withdrawn" in done
    finally:
        desk.engine.dispose()


def test_command_in_a_state_where_it_does_not_apply(desk):
    notice = open_case(desk)
    body = text(results_for(desk, staff_mail("#verify\n", answering=notice)))
    assert "#verify does not apply to CX-2026-0001 in state 'open' (it applies in: awaiting_identity)" in body
    results_for(desk, staff_mail("#withdrawn\n", answering=notice))
    again = text(results_for(desk, staff_mail("#withdrawn\n#offer discount 10%\n", answering=notice)))
    assert "#withdrawn does not apply to CX-2026-0001 in state 'withdrawn'" in again
    assert "#offer does not apply to CX-2026-0001 in state 'withdrawn'" in again


def test_bad_arguments_are_refused_with_what_would_do(desk):
    notice = open_case(desk)
    body = text(results_for(desk, staff_mail(
        "#reason expensive\n#offer yacht for the CEO\n#offer discount accepted\n#note\n#verbal not-an-address\n",
        answering=notice)))
    assert "unknown reason category 'expensive'; use one of: price, results, budget" in body
    assert "no offer named 'yacht' in the catalogue; offers: discount, free_month" in body
    assert "no open offer of discount on CX-2026-0001: record it first with #offer discount details" in body
    assert "a note needs some text: #note TEXT" in body
    assert "#verbal needs the customer's e-mail address first, got 'not-an-address'" in body
    case = the_case(desk)
    assert case["reasons"] == [] and case["offers"] == []


def test_a_failing_line_leaves_nothing_half_done(desk):
    notice = open_case(desk)

    def timers_that_break(desk, session, case):
        # A hook that changes the case and then fails: the savepoint must take the change back.
        from daemon.cases import record
        record(session, case, "note", at=desk.clock.now(), summary="written by the failing line")
        session.flush()
        raise RuntimeError("timer store unavailable")

    desk.pending_timers = timers_that_break
    body = text(results_for(desk, staff_mail("#note before\n#status\n#note after\n", answering=notice)))
    assert "\"#status\"  ->  failed with an internal error (logged for the operator)" in body
    assert "State:" not in body  # the failed line's partial results are not shown
    notes = [summary for kind, summary in the_case(desk)["events"] if kind == "note"]
    assert notes == ["before", "after"]


def _case_count(desk) -> int:
    with transaction(desk.factory) as session:
        return session.scalar(select(func.count()).select_from(Case))


def test_a_customer_cannot_run_commands(desk):
    run(desk, mail(subject="Changes", body="#withdrawn\n#note hello\n", message_id="<cust-1@acme.example>"))
    refusals = sent_to(desk, "jane@acme.example")
    assert len(refusals) == 1
    assert refusals[0]["In-Reply-To"] == "<cust-1@acme.example>"
    assert "only our staff can use" in text(refusals[0]) and "#note, #withdrawn" in text(refusals[0])
    assert _case_count(desk) == 0


def test_a_customer_command_on_their_case_changes_nothing(desk):
    open_case(desk)
    ack = sent_to(desk, "jane@acme.example")[0]
    with transaction(desk.factory) as session:
        events_before = session.scalar(select(func.count()).select_from(CaseEvent))
    run(desk, mail(subject=f"Re: {ack['Subject']}", body="#withdrawn\n",
                   headers={"In-Reply-To": ack["Message-ID"], "References": ack["Message-ID"]}))
    refusal = sent_to(desk, "jane@acme.example")[-1]
    assert "were not carried out and nothing was changed" in " ".join(text(refusal).split())
    case = the_case(desk)
    assert case["state"] == "open"
    with transaction(desk.factory) as session:   # only the refusal itself went on the timeline
        assert session.scalar(select(func.count()).select_from(CaseEvent)) == events_before + 1
    assert case["events"][-1][0] == "mail_out"


def test_a_display_name_that_looks_like_staff_is_not_staff(desk):
    notice = open_case(desk)
    raw = staff_mail("#withdrawn\n", sender='"amy@agency.example" <mallory@evil.example>', answering=notice)
    run(desk, raw)
    assert the_case(desk)["state"] == "open"
    assert len(sent_to(desk, "mallory@evil.example")) == 1   # told no, as any outsider
    assert "only our staff can use" in text(sent_to(desk, "mallory@evil.example")[0])


def test_a_mail_that_fails_after_its_commands_keeps_none_of_them(database_url, tmp_path):
    # The results template is broken, so the mail fails after its lines ran: the mail's one
    # transaction must take every line back (on SQLite too), to be run again on retry.
    broken = tmp_path / "broken_templates"
    broken.mkdir()
    (broken / "command_results.txt").write_text("no subject line here\n")
    desk = command_desk(tmp_path, database_url, extra=f'[templates]\noverride_dir = "{broken.name}"\n')
    try:
        notice = open_case(desk)
        run(desk, staff_mail("#note must not stay\n#reason price: nor this\n", answering=notice))
        case = the_case(desk)
        assert [kind for kind, _ in case["events"] if kind in ("note", "reason", "commands")] == []
        assert "reasons" not in case["details"]
        with transaction(desk.factory) as session:
            inbound = session.scalars(select(InboundMessage).order_by(InboundMessage.id.desc())).first()
            assert inbound.status == MessageStatus.FAILED and "must start with 'Subject: ...'" in inbound.error
    finally:
        desk.engine.dispose()

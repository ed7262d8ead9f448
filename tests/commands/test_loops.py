"""No loops: an auto-responder that echoes our results mail, and forged command mail, are bounded.

Results mail answers the staff member's own mail, so it counts against their daily cap and
carries Auto-Submitted; what it names is never runnable, so an echo of it runs nothing.
"""
from __future__ import annotations

from tests.commands.helpers import open_case, run, sent_to, staff_mail, text, the_case

# An unmarked auto-responder (no Auto-Submitted, no Precedence): it answers every mail and
# sends the original back below its own words, once without a quote marker, once quoted.
ECHO = "Thank you for your mail, I will read it when I am back on Monday.\n\n"


def _results_to_amy(desk):
    return [m for m in sent_to(desk, "amy@agency.example") if "Hello Amy" in text(m)]


def _echo(message, quoted: bool) -> bytes:
    body = text(message)
    if quoted:
        body = "Den 23 nov. 2026 kl. 09:00 skrev Agency cancellation desk <cancel@agency.example>:\n" + \
            "\n".join(f"> {line}" for line in body.splitlines())
    return staff_mail(ECHO + body, answering=message)


def _loop(desk, rounds: int, quoted: bool) -> int:
    notice = open_case(desk)
    run(desk, staff_mail("#note called them\n#help\n#status\n", answering=notice))
    for _ in range(rounds):
        latest = _results_to_amy(desk)[-1]
        run(desk, _echo(latest, quoted))
    return len(_results_to_amy(desk))


def test_an_auto_responder_echoing_results_stops_within_two_rounds(desk):
    assert _loop(desk, 10, quoted=False) <= 1 + 2
    assert the_case(desk)["state"] == "open"


def test_an_auto_responder_quoting_results_stops_within_two_rounds(desk):
    assert _loop(desk, 10, quoted=True) <= 1 + 2
    assert the_case(desk)["state"] == "open"


def test_results_mail_is_marked_automatic(desk):
    notice = open_case(desk)
    run(desk, staff_mail("#status\n", answering=notice))
    results = _results_to_amy(desk)[-1]
    assert results["Auto-Submitted"] == "auto-replied"
    assert results["X-Auto-Response-Suppress"] == "All"


def test_forged_command_mail_gets_capped_results(desk):
    notice = open_case(desk)
    cap = desk.config.desk.max_automatic_mails_per_staff_per_day
    forged = [staff_mail(f"#withdrawn try {n}\n", answering=notice, auth=None) for n in range(cap + 10)]
    run(desk, *forged)
    refusals = [m for m in _results_to_amy(desk) if "could not be verified" in text(m)]
    assert 0 < len(refusals) <= cap
    assert the_case(desk)["state"] == "open"

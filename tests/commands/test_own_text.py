"""Commands run only from what the sender wrote, and nothing the desk writes is a command.

Staff reply from Outlook and Gmail in their own language; the quote header is in that
language. A command line below it (a colleague's, or one of ours coming back) never runs.
"""
from __future__ import annotations

import jinja2.meta
import pytest

from daemon.config import DeskConfig
from daemon.mail.rendering import Renderer
from tests.commands.helpers import open_case, results_for, run, sent_to, staff_mail, text, the_case

SWEDISH_OUTLOOK = """Jag ringer kunden i morgon bitti.

Från: Tom Berg <tom@agency.example>
Skickat: den 23 november 2026 10:12
Till: Avbokningar <cancel@agency.example>
Kopia: Amy <amy@agency.example>
Ämne: SV: Cancellation request from ACME [CX-2026-0001]

#withdrawn kunden ångrade sig i telefon
"""

POLISH_OUTLOOK = """Zadzwonię do klienta jutro rano.

Od: Tom Berg <tom@agency.example>
Wysłane: poniedziałek, 23 listopada 2026 10:12
Do: Anulowania <cancel@agency.example>
DW: Amy <amy@agency.example>
Temat: ODP: Cancellation request from ACME [CX-2026-0001]

#withdrawn klient zmienił zdanie
"""

# Outlook inside Exchange: display names only, no address in the block.
SWEDISH_OUTLOOK_NAMES_ONLY = """Jag tar det.

Från: Tom Berg
Skickat: den 23 november 2026 10:12
Till: Avbokningar
Ämne: SV: Cancellation request from ACME [CX-2026-0001]

#withdrawn kunden ångrade sig
"""

# Gmail in Polish, as plain text whose client dropped the '>' of the quote.
POLISH_GMAIL_UNMARKED = """Dobrze, zajmę się tym.

pon., 23 lis 2026 o 10:12 Tom Berg <tom@agency.example> napisał(a):

#withdrawn klient zmienił zdanie
"""

CZECH_FORWARD = """Přeposílám.

-------- Původní zpráva --------
Od: Tom Berg <tom@agency.example>
Datum: 23. 11. 2026 10:12

#withdrawn zákazník si to rozmyslel
"""

REPLIES = {"swedish-outlook": SWEDISH_OUTLOOK, "polish-outlook": POLISH_OUTLOOK,
           "swedish-outlook-names-only": SWEDISH_OUTLOOK_NAMES_ONLY,
           "polish-gmail-unmarked": POLISH_GMAIL_UNMARKED, "czech-forward-separator": CZECH_FORWARD}


@pytest.mark.parametrize("body", REPLIES.values(), ids=REPLIES.keys())
def test_a_quoted_withdrawn_never_runs(desk, body):
    notice = open_case(desk)
    results = text(results_for(desk, staff_mail(body, answering=notice)))
    assert the_case(desk)["state"] == "open"
    assert "were not run" in " ".join(results.split()) and "Done:" not in results
    assert not [e for e in the_case(desk)["events"] if e[0] == "withdrawn"]


def test_own_commands_above_a_swedish_quote_still_run(desk):
    notice = open_case(desk)
    body = "#note kunden ringer tillbaka\n\n" + SWEDISH_OUTLOOK.split("\n\n", 1)[1]
    results = text(results_for(desk, staff_mail(body, answering=notice)))
    assert '"#note kunden ringer tillbaka"  ->  note added' in results
    # Wrapped for reading: the sentence may run over two lines.
    assert "1 command line(s) below \"Från: Tom Berg <tom@agency.example>\" were not run" in " ".join(results.split())
    assert the_case(desk)["state"] == "open"


class _Value:
    """Every value a template asks for carries command lines, as if a customer had written them."""

    def __init__(self, name):
        self._name = name

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Value(f"{self._name}.{name}")

    def __getitem__(self, key):
        return _Value(f"{self._name}[{key}]")

    def __iter__(self):
        return iter([_Value(f"{self._name}[0]")])

    def __str__(self):
        return f"{self._name}\n#withdrawn {self._name}\n  #cancel all services on 2026-12-31"

    def __bool__(self):
        return True


def _every_template_output() -> list[tuple[str, str]]:
    renderer = Renderer()
    env = renderer._env
    outputs = []
    for name in renderer.names():
        source = env.loader.get_source(env, f"{name}.txt")[0]
        context = {var: _Value(var) for var in jinja2.meta.find_undeclared_variables(env.parse(source))}
        context["desk"] = DeskConfig()
        outputs.append((name, renderer.render(name, context).text))
    return outputs


def test_every_template_output_fed_back_runs_nothing(desk):
    notice = open_case(desk)
    before = the_case(desk)
    outputs = _every_template_output()
    assert len(outputs) > 20
    raws = [staff_mail(body, answering=notice, subject=f"Re: {name}") for name, body in outputs]
    run(desk, *raws)
    after = the_case(desk)
    assert after["state"] == before["state"] == "open"
    ran = [e for e in after["events"] if e[0] == "commands"]
    assert ran == [], ran
    assert not [m for m in sent_to(desk, "amy@agency.example") if "Done:" in text(m)]


def test_results_and_help_mail_fed_back_runs_nothing(desk):
    notice = open_case(desk)
    answer = results_for(desk, staff_mail("#help\n#note first\n", answering=notice))
    assert '"#withdrawn' in text(answer)  # #help lists it, in its shown form
    events = len(the_case(desk)["events"])
    # An auto-responder (or a client that keeps our text unquoted) sends it all back.
    echo = staff_mail("Out of office until Monday.\n\n" + text(answer), answering=answer)
    run(desk, echo)
    assert the_case(desk)["state"] == "open"
    assert len(the_case(desk)["events"]) == events + 1  # kept as a note, nothing run

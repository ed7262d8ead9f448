"""A contact's answer about a request waiting for identity: confirm, deny, or a question for a person."""
from __future__ import annotations

import pytest

from parsers.confirmations import confirmation

ANSWERS = {
    "Yes, that was me.": "confirm",
    "I confirm the request, thanks.": "confirm",
    "Ja, ich bestätige die Kündigung.": "confirm",
    "Oui, je confirme.": "confirm",
    "I did not send this. Do not cancel anything!": "deny",
    "This wasn't me - please don't cancel.": "deny",
    "Ich habe das nicht geschickt, bitte nicht kündigen.": "deny",
    "Je n'ai pas envoyé ce message.": "deny",
    "Yes? What is this about?": "question",
    "Who sent this?": "question",
    "Thanks for letting me know.": "",
}


@pytest.mark.parametrize("text,expected", ANSWERS.items())
def test_answers(text, expected):
    assert confirmation(text) == expected

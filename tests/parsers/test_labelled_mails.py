"""The labelled mail set (tests/fixtures/understanding): every mail is read as it was labelled.

Intent, the services in scope and kept, and the final day from the mail's arrival (our
trusted Received header). `bench/understanding.py` prints the same score beside intent-dev.
"""
from __future__ import annotations

import pytest

from tests.fixtures.understanding.labelled import load_cases, score

CASES = load_cases()


def test_the_set_is_large_and_covers_six_languages_and_every_intent() -> None:
    assert len(CASES) >= 150
    assert {c.language for c in CASES} == {'en', 'de', 'fr', 'es', 'nl', 'pt'}
    assert {c.intent for c in CASES} >= {'cancel', 'pause', 'change', 'question', 'at_risk', 'withdraw', 'stop',
                                         'other'}
    assert any(c.html for c in CASES) and any(c.auto for c in CASES)


@pytest.mark.parametrize('case', CASES, ids=[c.name for c in CASES])
def test_each_mail_is_read_as_labelled(case) -> None:
    (result,) = score([case])
    assert result.ok, f"{result.why}\n" + "\n".join(result.readings)

"""Parse stage, language: which of the desk's languages a customer wrote in.

py3langid's model, limited to the languages the desk writes (en, de, fr, es, nl, pt), reads
the request's own new text. A short or mixed text it is not sure about counts as English,
the desk's own language: a wrong guess would send a customer mail they cannot read.
"""

from __future__ import annotations

import functools
import threading

LANGUAGES = ("en", "de", "fr", "es", "nl", "pt")
DEFAULT = "en"
# Below this the model is guessing (a greeting and a service name read as anything).
_MIN_CONFIDENCE = 0.7
_MIN_LETTERS = 12


def detect_language(text: str) -> str:
    """The language of `text`, one of LANGUAGES; DEFAULT when too short or unsure."""
    text = (text or "").strip()
    if sum(ch.isalpha() for ch in text) < _MIN_LETTERS:
        return DEFAULT
    language, confidence = _identifier().classify(text[:5000])
    return language if language in LANGUAGES and confidence >= _MIN_CONFIDENCE else DEFAULT


def warm_up() -> None:
    """Load the model now (most of a second of CPU), so the first customer's mail does not wait for it."""
    _identifier()


def _identifier():
    # One load even when the warm-up and the first mail ask at once.
    with _LOADING:
        return _load()


_LOADING = threading.Lock()


@functools.lru_cache(maxsize=1)
def _load():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    # The identifier keeps the whole model (every language's column, 28 MB) to allow another
    # `set_languages`; the desk never asks for another set, so only the six columns are kept.
    identifier._full_model = identifier.nb_ptc, identifier.nb_pc, identifier.nb_classes
    return identifier

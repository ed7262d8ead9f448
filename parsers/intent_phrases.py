"""Classify stage data: the default at-risk phrases, the part of intent that is plain phrases.

Requests, withdrawals and newsletters are read by grammar (`parsers.intent_lexicon`); a
customer doubting the service says so in phrases, listed here per language. Configuration
extends or replaces them, and adds phrases of any intent, through `parsers.intent.merge_phrases`.
Phrases are lower-case and matched as whole words, accents ignored.
"""

from __future__ import annotations

from types import MappingProxyType


def _freeze(table: dict) -> MappingProxyType:
    return MappingProxyType({k: MappingProxyType(v) for k, v in table.items()})


DEFAULT_PHRASES = _freeze(
    {
        "at_risk": {
            "en": (
                "not happy",
                "unhappy",
                "disappointed",
                "not worth",
                "no results",
                "too expensive",
                "another agency",
                "another provider",
                "other agency",
                "other provider",
                "considering",
                "reconsider",
                "thinking about leaving",
                "not seeing value",
                "competitor",
                "quote from",
            ),
            "de": ("unzufrieden", "enttäuscht", "zu teuer", "andere agentur", "anderen anbieter", "überlegen"),
            "fr": ("pas satisfait", "déçu", "trop cher", "autre agence", "autre prestataire", "réfléchissons"),
            "es": ("no estamos contentos", "decepcionado", "demasiado caro", "otra agencia", "otro proveedor"),
            "nl": ("ontevreden", "teleurgesteld", "te duur", "ander bureau", "andere aanbieder", "overwegen"),
            "pt": (
                "não estamos satisfeitos",
                "insatisfeitos",
                "insatisfeito",
                "decepcionados",
                "decepcionado",
                "caro demais",
                "muito caro",
                "outra agência",
                "outro fornecedor",
                "concorrente",
            ),
        },
    }
)

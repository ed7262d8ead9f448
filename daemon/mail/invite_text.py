"""The words inside a call invitation's calendar entry (SUMMARY, DESCRIPTION), per language.

A calendar shows the entry's own words, not the mail's: the customer's copy of the
invitation is written in their language, the team's in the desk's. `{account}`,
`{company}` and `{reference}` are filled in.
"""

from __future__ import annotations

from parsers.language import DEFAULT

WORDS: dict[str, tuple[str, str]] = {
    "en": (
        "{account}: your account with {company} [{reference}]",
        "A short call to hear your reasons and see what we can do. It is an offer: your request stands "
        "whether or not you take it.",
    ),
    "de": (
        "{account}: Ihr Kundenkonto bei {company} [{reference}]",
        "Ein kurzes Gespräch, um Ihre Gründe zu hören und zu sehen, was wir für Sie tun können. Es ist ein "
        "Angebot: Ihre Anfrage gilt, ob Sie es wahrnehmen oder nicht.",
    ),
    "fr": (
        "{account} : votre compte chez {company} [{reference}]",
        "Un court échange pour entendre vos raisons et voir ce que nous pouvons faire. C'est une proposition : "
        "votre demande reste valable, que vous l'acceptiez ou non.",
    ),
    "es": (
        "{account}: su cuenta con {company} [{reference}]",
        "Una breve llamada para conocer sus motivos y ver qué podemos hacer. Es una oferta: su solicitud es "
        "válida tanto si la acepta como si no.",
    ),
    "nl": (
        "{account}: uw account bij {company} [{reference}]",
        "Een kort gesprek om uw redenen te horen en te zien wat wij kunnen doen. Het is een aanbod: uw verzoek "
        "blijft staan, of u het aanneemt of niet.",
    ),
    "pt": (
        "{account}: a sua conta com a {company} [{reference}]",
        "Uma breve conversa para ouvir os seus motivos e ver o que podemos fazer. É uma oferta: o seu pedido "
        "vale quer você a aceite, quer não.",
    ),
}


def invite_words(language: str, *, account: str, company: str, reference: str) -> tuple[str, str]:
    """(SUMMARY, DESCRIPTION) of the calendar entry in `language` (English when not written)."""
    summary, description = WORDS.get(language, WORDS[DEFAULT])
    return summary.format(account=account, company=company, reference=reference), description

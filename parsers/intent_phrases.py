"""Classify stage data: the default intent phrases, negation words and polite-request forms.

Data only, so operators can read what the defaults are; configuration extends or replaces
them through `parsers.intent.merge_phrases`. Phrases are lower-case; a last word of five
letters or more matches as a stem ('cancel' also finds 'cancellation').
"""
from __future__ import annotations

import re
from types import MappingProxyType


def _freeze(table: dict) -> MappingProxyType:
    return MappingProxyType({k: MappingProxyType(v) for k, v in table.items()})


DEFAULT_PHRASES = _freeze({
    'cancel': {
        'en': ('cancel', 'terminate', 'termination', 'end our contract', 'end the contract', 'stop our service',
               'stop the service', 'discontinue', 'close our account', 'close my account', 'not renew',
               'no longer need', 'opt out of the contract', 'give notice', 'end our subscription'),
        'de': ('kündigen', 'kündigung', 'kuendigen', 'kuendigung', 'vertrag beenden', 'beenden',
               'nicht verlängern', 'stornieren'),
        'fr': ('résilier', 'résiliation', 'resilier', 'resiliation', 'annuler', 'annulation',
               'mettre fin', 'arrêter le contrat'),
        'es': ('cancelar', 'cancelación', 'cancelacion', 'dar de baja', 'rescindir', 'terminar el contrato'),
        'nl': ('opzeggen', 'opzegging', 'zeg op', 'zeggen op', 'beëindigen', 'beeindigen', 'annuleren'),
    },
    'pause': {
        'en': ('pause', 'put on hold', 'on hold', 'suspend', 'take a break', 'hold off', 'freeze'),
        'de': ('pausieren', 'pause', 'aussetzen', 'ruhen lassen'),
        'fr': ('mettre en pause', 'pause', 'suspendre'),
        'es': ('pausar', 'pausa', 'suspender'),
        'nl': ('pauzeren', 'pauze', 'stopzetten tijdelijk', 'on hold'),
    },
    'change': {
        'en': ('downgrade', 'reduce', 'lower the budget', 'cut the budget', 'budget cut', 'smaller package',
               'cheaper plan', 'fewer hours', 'scale back', 'scale down', 'switch to a smaller'),
        'de': ('reduzieren', 'budget kürzen', 'kleineres paket', 'herabstufen', 'downgrade'),
        'fr': ('réduire', 'reduire', 'baisser le budget', 'formule moins chère', 'rétrograder'),
        'es': ('reducir', 'bajar el presupuesto', 'plan más barato', 'paquete más pequeño'),
        'nl': ('verlagen', 'verminderen', 'kleiner pakket', 'budget omlaag', 'downgraden'),
    },
    'at_risk': {
        'en': ('not happy', 'unhappy', 'disappointed', 'not worth', 'no results', 'too expensive',
               'another agency', 'another provider', 'other agency', 'other provider', 'considering',
               'reconsider', 'thinking about leaving', 'not seeing value', 'competitor', 'quote from'),
        'de': ('unzufrieden', 'enttäuscht', 'zu teuer', 'andere agentur', 'anderen anbieter', 'überlegen'),
        'fr': ('pas satisfait', 'déçu', 'trop cher', 'autre agence', 'autre prestataire', 'réfléchissons'),
        'es': ('no estamos contentos', 'decepcionado', 'demasiado caro', 'otra agencia', 'otro proveedor'),
        'nl': ('ontevreden', 'teleurgesteld', 'te duur', 'ander bureau', 'andere aanbieder', 'overwegen'),
    },
    'withdraw': {
        'en': ('disregard', 'ignore my cancellation', 'ignore our cancellation', 'withdraw', 'changed our mind',
               'changed my mind', "we'd like to stay", 'we would like to stay', 'want to stay', 'stay with you',
               'keep our service', 'keep the service', 'revoke'),
        'de': ('widerrufen', 'zurückziehen', 'zurücknehmen', 'bleiben', 'doch nicht kündigen'),
        'fr': ('annuler ma résiliation', 'retirer', 'rester avec vous', 'ignorer ma demande'),
        'es': ('retirar', 'quedarnos', 'ignorar mi solicitud', 'cambiado de opinión'),
        'nl': ('intrekken', 'blijven', 'negeer mijn opzegging'),
    },
    'stop': {
        'en': ('unsubscribe', 'stop sending', 'stop emailing', 'stop contacting', 'remove me from',
               'no more emails', 'stop these emails'),
        'de': ('abmelden', 'keine e-mails mehr', 'austragen'),
        'fr': ('désabonner', 'desabonner', 'désinscrire', 'plus de mails'),
        'es': ('darme de baja de la lista', 'no más correos', 'dejar de enviar'),
        'nl': ('afmelden', 'uitschrijven', 'geen mails meer'),
    },
})

# Words that, shortly before a phrase, negate it. 'no' is Spanish negation and also English.
NEGATIONS = frozenset({
    'not', 'never', 'dont', 'do not', "don't", "won't", 'wont', 'nicht', 'kein', 'keine', 'keinen', 'nie',
    'pas', 'ne', "n'", 'jamais', 'no', 'nunca', 'niet', 'geen', 'nooit',
})

# 'Could you please cancel ...?' asks us to act; it is a request, not a question about it.
POLITE_REQUEST = re.compile(
    r"\b(?:please|pls|kindly|bitte|s'il vous plaît|svp|por favor|alstublieft|graag)\b|"
    r'^(?:can|could|would|will) you\b|^(?:können|könnten) sie\b|^(?:pouvez|pourriez)-vous\b|'
    r'^(?:puede|podría|podrian|podrían)\b|^(?:kunt|kunnen|zou) (?:u|je)\b', re.IGNORECASE)

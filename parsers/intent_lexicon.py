"""Classify stage data: the vocabulary and grammar words the clause reader uses, six languages.

Data only (regular-expression fragments over text that `parsers.clauses.fold` has lower-cased
and stripped of accents, so 'kündigen' is written 'kundig', 'résilier' 'resili'). Forms are
stems with their endings, never whole sentences: the reader (`parsers.intent`) combines an
action with the object it applies to inside one clause.

- ACTIONS: kind -> patterns of the verbs (and nouns of action) that ask to end, pause or
  change something. Which thing is asked about is the object's business, not the verb's.
- CONTRACT_VERBS: verbs that by themselves mean ending a contract ('kündigen', 'résilier',
  'opzeggen', 'give notice'): no object is needed to read them as a request to us.
- OURS / NOT_OURS: objects that make the request about the relationship with the agency,
  and objects that make it about something else (an order, a payment, a reservation ...).
- TYPO_LEMMAS: action words long enough (five letters or more) to be read through one typo.
"""

from __future__ import annotations

# fmt: off
# Word lists laid out by hand, several to a line: a list per line would hide the languages.

# -- actions --------------------------------------------------------------------------------

_CANCEL = (
    # en
    r'cancel\w*', r'cancle\w*', r'terminat\w*', r'(?<!my )(?<!the )(?<!our )(?<!your )(?<!at )(?<!an )(?<!this )end(?:s|ed|ing)?(?= (?:our|my|the|this|that|these|those|them|all|it|'
    r'everything|your|any|a|an|things|working|business)\b)', r'clos(?:e|es|ed|ing|ure)(?: (?:out|down))?',
    r'shut(?:s|ting)? (?:down|off)', r'delet(?:e|es|ed|ing|ion)', r'remov(?:e|es|ed|ing|al)',
    r'(?:de|in)activat\w*', r'disabl(?:e|es|ed|ing)', r'invalidat\w*', r'discontinu\w*', r'quit(?:s|ting)?',
    r'stop(?:s|ped|ping)?', r'drop(?:s|ped|ping)?', r'put (?:an) end (?:on|to)', r'get(?:ting)? rid of', r'do away with',
    r'opt(?:ing)? out(?: of)?', r'no longer (?:want|need|require|wish to (?:keep|use|have)|use)(?:ed|s)?',
    r"(?:do|does|did) ?n[o']?t (?:want|need) (?!to\b)(?:\w+ ){0,4}?(?:anymore|any more|any longer)",
    r'not (?:to )?(?:renew|extend|continue|prolong)\w*', r"won'?t (?:be )?renew\w*", r'(?:give|giving|gave|hand in|serve) (?:\w+ )?notice',
    r'be done with', r'finish(?:ing)? (?:up )?with', r'part(?:ing)? ways', r'leav(?:e|ing) (?:you|your)',
    # de
    r'(?:ge)?ku(?:e)?ndig\w*', r'beend\w*', r'storn\w*', r'aufgelost|auf(?:zu)?los\w*|aufl(?:o|oe)s\w*',
    r'(?:ge)?l(?:o|oe)sch\w*', r'entfern\w*', r'deaktivier\w*', r'schlie(?:ss|s)\w*|geschlossen', r'einstell\w*|eingestellt',
    r'austret\w*|austritt', r'streich\w*|gestrichen', r'(?:brauch|benotig|woll|mocht)\w* (?:\w+ ){0,5}?nicht mehr',
    r'nicht (?:mehr )?verl(?:a|ae)nger\w*', r'abbestell\w*',
    # fr
    r'resili\w*', r'annul\w*', r'(?:mettre|mettons|mettez|met) fin', r'arret\w*', r'clotur\w*', r'ferm(?:er|ez|ons|e|ee|eture)',
    r'supprim\w*', r'desactiv\w*', r"(?:n' ?|ne )?(?:avons|ai|a) plus besoin", r"(?:n' ?|ne )(?:souhait|voul|veu)\w* plus",
    r'(?:ne pas|pas) renouvel\w*', r'ne (?:\w+ )?renouvel\w* pas', r'quitt\w*',
    # es
    r'dar(?:me|nos|se)? de baja|de baja', r'rescind\w*', r'terminar|termine|terminamos|finaliz\w*', r'cerrar|cierr\w*',
    r'elimin\w*', r'borr(?:ar|e|en|ado|ada)', r'desactiv\w*', r'ya no (?:\w+ ){0,2}?(?:quiero|queremos|necesit\w*|deseo|deseamos)',
    r'no (?:\w+ )?renov\w*', r'poner fin', r'dejar de (?:usar|trabajar)',
    # nl
    r'opzeg\w*|opgezegd', r'zeg(?:gen)? (?:\w+ ){0,5}?op\b', r'beeindig\w*', r'annuleer\w*|annuleren|geannuleerd',
    r'stopzett\w*|stop(?:pen|t)?', r'verwijder\w*', r'opheff\w*|opgeheven', r'(?:niet|geen) (?:\w+ )?meer nodig',
    r'niet (?:meer )?verleng\w*', r'deactiveer\w*',
    # pt
    r'rescis(?:ao|oes)', r'encerr\w*', r'fech(?:ar|e|em|ado|ada)', r'exclu(?:ir|a|am|ida|ido)', r'apag(?:ar|ue|uem)',
    r'desativ\w*', r'(?:nao|ja nao) (?:\w+ )?(?:quero|queremos|preciso|precisamos) mais', r'nao (?:\w+ )?renov\w*', r'por fim',
)
_PAUSE = (
    r'paus(?:e|es|ed|ing)', r'(?:put|place|putting|placing) (?:a )?(?:stop|block|hold) (?:on|to)', r'put (?:\w+ ){0,4}?on hold|on hold', r'suspen(?:d|ds|ded|ding|sion)', r'take a break',
    r'hold off', r'freez(?:e|ing)|froze', r'pausier\w*', r'ausset(?:z|zt)\w*', r'ruhen lassen|ruhend stell\w*',
    r'mettre en pause|en pause', r'suspendr\w*|suspend\w*', r'pausa(?:r)?\w*', r'congel\w*', r'pauzer\w*|pauze',
    r'tijdelijk stop\w*', r'opschort\w*',
)
_CHANGE = (
    r'downgrad\w*', r'reduc(?:e|es|ed|ing|tion)', r'(?:lower(?:ing)?|cut(?:ting)?)(?= (?:the |our |my )?(?:budget|spend|retainer|hours|fee))', r'cut(?:ting)? (?:back|down)', r'scal(?:e|ing) (?:back|down)',
    r'switch(?:ing)? to a (?:smaller|cheaper)', r'reduzier\w*', r'(?:ge)?k(?:u|ue)rz(?:en|t|te|ung)', r'herabstuf\w*', r'verringer\w*',
    r'redui\w*|reduire', r'baisser', r'diminu\w*', r'retrograd\w*', r'reduc(?:ir|imos|iendo)|reduzc\w*', r'bajar',
    r'verlag\w*', r'verminder\w*', r'downgraden', r'reduz\w*', r'baixar',
)
ACTIONS = {'cancel': _CANCEL, 'pause': _PAUSE, 'change': _CHANGE}

# Verbs that mean 'end the contract' by themselves: 'hiermit kündige ich fristgerecht'.
CONTRACT_VERBS = (r'(?:ge)?ku(?:e)?ndig\w*', r'resili\w*', r'opzeg\w*|opgezegd', r'zeg(?:gen)? (?:\w+ ){0,5}?op\b',
                  r'rescindir|rescindo|rescindimos|rescis(?:ao|oes)', r'(?:give|giving|gave|hand in|serve) (?:\w+ )?notice',
                  r'dar(?:me|nos|se)? de baja', r'not (?:to )?renew\w*', r"won'?t (?:be )?renew\w*",
                  r'nicht (?:mehr )?verl(?:a|ae)nger\w*', r'(?:ne pas|pas) renouvel\w*', r'ne (?:\w+ )?renouvel\w* pas',
                  r'no (?:\w+ )?renov\w*', r'nao (?:\w+ )?renov\w*', r'niet (?:meer )?verleng\w*', r'termination notice')

# What a change (downgrade, reduce) applies to: the budget, hours, plan or a service; not 'with you'.
CHANGE_OBJECTS = (r'\w*budget\w*', r'spend', r'hours', r'stunden', r'heures', r'horas', r'uren', r'presupuesto',
                  r'orcamento', r'plans?', r'planos?', r'packages?', r'pakket\w*', r'paket\w*', r'pacotes?', r'paquetes?',
                  r'formule', r'forfait', r'tarif', r'retainer', r'contracts?', r'vertr\w*', r'contrats?', r'contratos?',
                  r'services?', r'dienst\w*', r'leistung\w*', r'servicios?', r'servicos?', r'prestations?', r'campaigns?',
                  r'kampagnen?', r'campagnes?', r'campanas?', r'campanhas?', r'subscriptions?', r'abo\w*')

# Verbs that, said to a cancellation desk with no object at all ('please cancel', 'wir kündigen'),
# still ask about the relationship: the desk asks back. 'stop', 'end', 'drop', 'close' alone do not.
DESK_VERBS = (r'cancel\w*', r'cancle\w*', r'terminat\w*', r'(?:ge)?ku(?:e)?ndig\w*', r'resili\w*', r'annul\w*',
              r'annuleer\w*|annuleren', r'opzeg\w*', r'rescind\w*', r'beend\w*', r'beeindig\w*', r'encerr\w*',
              r'(?:de|in)activat\w*', r'desactiv\w*', r'deaktivier\w*', r'discontinu\w*', r'paus\w*', r'pauzer\w*',
              r'pausier\w*', r'suspen\w*', r'downgrad\w*', r'dar(?:me|nos|se)? de baja|de baja')

# Words the one-typo tolerance reads back to an action ('cancle', 'clsoe', 'remoe', 'terminting').
TYPO_LEMMAS = {
    'cancel': 'cancel', 'cancelled': 'cancel', 'canceled': 'cancel', 'cancellation': 'cancel', 'cancelling': 'cancel',
    'terminate': 'terminate', 'terminating': 'terminate', 'termination': 'terminate', 'close': 'close',
    'closing': 'close', 'delete': 'delete', 'deleting': 'delete', 'remove': 'remove', 'deactivate': 'deactivate',
    'discontinue': 'discontinue', 'pause': 'pause', 'suspend': 'suspend', 'downgrade': 'downgrade',
    'kundigen': 'kundigen', 'kundigung': 'kundigung', 'kundige': 'kundige', 'beenden': 'beenden',
    'resilier': 'resilier', 'resiliation': 'resiliation', 'annuler': 'annuler', 'cancelar': 'cancelar',
    'cancelamento': 'cancelamento', 'opzeggen': 'opzeggen', 'opzegging': 'opzegging', 'beeindigen': 'beeindigen',
    'encerrar': 'encerrar', 'rescindir': 'rescindir', 'eliminar': 'eliminar', 'verwijderen': 'verwijderen',
    # objects, read through one typo the same way ('acount', 'contarct')
    'account': 'account', 'contract': 'contract', 'subscription': 'subscription', 'membership': 'membership',
    'service': 'service', 'services': 'services', 'agreement': 'agreement', 'vertrag': 'vertrag',
}
# Real words one edit away from an action word: never read as a typo of it.
NOT_TYPOS = frozenset({
    'cause', 'caused', 'causes', 'causing', 'chose', 'those', 'whose', 'closet', 'closer', 'clone', 'cloned',
    'cancer', 'remote', 'removal', 'reactivate', 'reactivated', 'reactivating', 'reactivation', 'delate',
    'terminal', 'terminals', 'paste', 'passe', 'parse', 'purse', 'pulse', 'phase', 'suspect', 'causa', 'cerrar',
    'annulez', 'beende', 'deduce', 'seduce', 'closes', 'closed', 'clause', 'glose', 'clos', 'classe', 'clase',
    'encerrar', 'cancela', 'cancelo', 'annule', 'annulé', 'kundige', 'kundigt',
})

# -- objects --------------------------------------------------------------------------------

_OURS = (
    r'accounts?', r'acct', r'konto|kontos|konten|kundenkonto|benutzerkonto', r'comptes?', r'cuentas?', r'contas?',
    r'contracts?', r'vertr(?:a|ae)ge?s?|vertrags\w*', r'contrats?', r'contratos?', r'agreements?', r'vereinbarung\w*',
    r'accord', r'acuerdo', r'acordo', r'overeenkomst\w*', r'subscriptions?', r'abo|abos|abonnement\w*',
    r'(?:su|sub)scripcion\w*', r'assinatura\w*', r'memberships?', r'mitgliedschaft', r'adhesion', r'membresia',
    r'lidmaatschap', r'services?', r'dienst\w*', r'leistung\w*', r'prestations?', r'servicios?', r'servicos?',
    r'plans?', r'tarif', r'forfait', r'planos?', r'pakket\w*', r'paket\w*', r'packages?', r'pacotes?', r'paquetes?',
    r'formule', r'retainer', r'mandat', r'mandato', r'collaboration', r'zusammenarbeit', r'colaboracion',
    r'samenwerking', r'colaboracao', r'partnership', r'partnerschaft', r'everything', r'all of it',
    r'all (?:the |our |my )?(?:services|work)', r'alles', r'tout', r'todo', r'tudo',
    r'with (?:you|your (?:agency|company|firm|team))', r'bei (?:ihnen|euch)', r'chez vous', r'avec vous',
    r'con (?:ustedes|vosotros|usted|ti)', r'bij (?:jullie|u)', r'met (?:jullie|u)', r'com (?:voces|vcs|voce)',
    r'campaigns?', r'kampagnen?', r'campagnes?', r'campanas?', r'campanhas?', r'auto-?renew\w*', r'renewal',
    r'(?:be|being|as) (?:a )?(?:customer|client)', r'kunde', r'cliente?', r'klant', r'budget', r'hours',
    r'spend', r'stunden', r'heures', r'horas', r'uren', r'presupuesto', r'orcamento', r'\w*budget\w*',
)
_NOT_OURS = (
    r'orders?', r'bestellung\w*', r'commandes?', r'pedidos?', r'bestelling\w*', r'encomendas?',
    r'purchases?', r'(?:ein)?kauf\w*', r'achats?', r'compras?', r'aankoop\w*',
    r'payments?', r'zahlung\w*', r'paiements?', r'pagos?', r'betaling\w*', r'pagamentos?', r'transfers?',
    r'transactions?', r'charges?', r'requests?', r'withdrawals?', r'deposits?', r'top-?ups?', r'checks?', r'cheques?',
    r'loans?', r'refunds?', r'money', r'geld', r'argent', r'dinero', r'dinheiro', r'funds', r'items?', r'products?', r'deliver(?:y|ies)', r'shipments?', r'account (?:activity|number|details|information|info|balance|statement|settings|password)s?',
    r'(?:to ?do|to do|task|shopping|reading|play|wish) ?lists?', r'lists?', r'calendar', r'alarms?', r'timers?', r'reminders?',
    r'anmeldung\w*', r'registration\w*', r'registrierung', r'inscription', r'inscripcion', r'inschrijving', r'inscricao',
    r'workshops?', r'webinars?', r'seminars?', r'conferen\w*', r'dinner', r'lunch', r'breakfast', r'table', r'party', r'events?', r'class(?:es)?', r'lessons?', r'concert', r'show', r'direct debit', r'(?:u|ue)berweisung\w*', r'lastschrift\w*', r'virements?',
    r'transferencias?', r'overboeking\w*', r'bookings?', r'reservations?', r'reservierung\w*', r'buchung\w*',
    r'reservas?', r'reservering\w*', r'meetings?', r'appointments?', r'calls?', r'termin', r'besprechung\w*',
    r'rendez-vous', r'reunion\w*', r'citas?', r'afspraak\w*', r'reuniao', r'newsletters?', r'mailings?',
    r'mailing list', r'(?:marketing|promotional) (?:e-?mails?|mails|messages)', r'(?:the|these|your|all) (?:e-?mails|mails|messages)',
    r'e-?mails? from you', r'correos(?: promocionales)?', r'(?:e-?mails|emails) promocionais', r'nieuwsbrief\w*',
    r'werbung', r'publicite', r'publicidad', r'reclame', r'cards?', r'karten?', r'cartes?', r'tarjetas?', r'kaart\w*',
    r'cartao', r'flights?', r'tickets?', r'trip', r'hotel', r'invoices?', r'rechnung\w*', r'factures?', r'facturas?',
    r'factuur\w*', r'faturas?', r'(?:bank|banking|savings|checking|deposit|credit|debit|paypal|loan|joint|'
    r'brokerage|investment|chase|money market|spar|giro) ?accounts?', r'bankkonto|sparkonto|girokonto',
    r'(?:compte|cuenta|conta) (?:bancaire|bancaria|bancario|corrente|de ahorro)', r'bankrekening\w*', r'rekening\w*',
)
OURS = _OURS
NOT_OURS = _NOT_OURS
# 'it', 'this', 'that': ours when the mail named something of ours elsewhere (its subject, a clause before).
PRONOUNS = (r'it', r'this', r'that', r'them', r'es', r'ihn', r'sie', r'le', r'la', r'les', r'lo', r'los', r'het',
            r'dit', r'dat', r'o', r'isso', r'isto', r'ello', r'cela', r'ca')

# -- grammar --------------------------------------------------------------------------------

NEGATIONS = (r"not", r"n't", r"never", r"no", r"nicht", r"kein\w*", r"nie", r"niemals", r"pas", r"ne", r"n'",
             r"jamais", r"nunca", r"nao", r"niet", r"geen", r"nooit", r"nada", r"rien", r"nichts", r"niets")
# 'keep SEO', 'SEO weiterlaufen lassen', 'garder le SEO'.
KEEP = (r'keep(?:s|ing)?', r'stays? (?:with you|on|as is)', r'stay(?:s|ing)? (?:as (?:it is|they are)|the same|unchanged)',
        r'remains? (?:as (?:it is|they are)|unchanged|in place)', r'bleib\w*', r'reste\w* (?:chez vous|avec vous)',
        r'se queda\w*', r'blijf\w*|blijven', r'fica\w*', r'manter\w*|mantemos|vamos manter', r'retain\w*', r'continu(?:e|ing) (?:with )?', r'stay on', r'leave (?:\w+ ){0,3}?running',
        r'behalt\w*|beibehalt\w*|beibehalten', r'weiter(?:laufen|fuhren|machen)\w*', r'garder|gardons|conserv\w*',
        r'manten\w*|mantener|seguir con', r'behoud\w*|houden|aanhouden', r'mant(?:er|emos|enha)', r'continuar')
EXCEPT = (r'except(?: for)?', r'apart from', r'but not', r'other than', r'au(?:ss|s)er', r'sauf', r'excepto', r'salvo',
          r'menos', r'behalve', r'exceto', r'a excecao de')
ONLY = (r'only', r'just', r'nur', r'seulement', r'uniquement', r'solo', r'solamente', r'alleen', r'apenas', r'so')
ALL = (r'everything', r'all of it', r'all (?:the |our |my )?(?:services|work)', r'alles', r'tout', r'todo', r'tudo',
       r'all services', r'alle[nms]? (?:dienste|leistungen|diensten)', r'tous les services', r'todos los servicios',
       r'todos os servicos')
# 'thinking about closing my account': weighing it, not asking (at risk).
WEIGHING = (r'consider\w*', r'thinking (?:about|of)', r'think(?:ing)? we (?:might|may|will)', r'might', r'may', r'maybe',
            r'perhaps', r'not sure (?:whether|if)', r'(?:u|ue)berleg\w*', r'vielleicht', r'envisag\w*', r'peut-etre',
            r'pensando en', r'quiza\w*', r'overweg\w*', r'misschien', r'pensando em', r'talvez', r'considerando')
INSTEAD = (r'instead of', r'rather than', r'(?:an)?statt', r'au lieu de', r'plutot que', r'en (?:lugar|vez) de',
           r'in plaats van', r'em vez de', r'ao inves de')
# A question about how to leave is answered with a question back (the desk asks to confirm).
QUESTION_OPENERS = (
    r'how', r'where', r'what', r'which', r'when', r'can i', r'could i', r'may i', r'should (?:i|we)', r'do i',
    r'is it possible', r'is there', r'are there', r'can we', r'tell me how', r'do (?:i|we) have to',
    r'wie', r'wo', r'was', r'kann ich', r'konnen wir', r'ist es moglich', r'soll(?:te)? ich', r'gibt es',
    r'comment', r'ou', r'que', r'quel\w*', r'puis-je', r'est-ce que', r'peut-on', r'dois-je',
    r'como', r'donde', r'puedo', r'podemos', r'cual\w*', r'es posible', r'hay', r'debo',
    r'hoe', r'waar', r'wat', r'kan ik', r'kunnen wij', r'is het mogelijk', r'moet ik',
    r'onde', r'posso', r'qual', r'e possivel', r'devo',
)
# 'Could you please cancel ...?' asks us to act: a request, not a question about it.
POLITE = (r'please', r'pls', r'plz', r'kindly', r'bitte', r"s'il vous plait", r'svp', r'por favor', r'alstublieft',
          r'graag', r'(?:can|could|would|will) (?:you|u)', r'are you able to', r'i need you to',
          r'(?:konnen|konnten|wurden) sie', r'(?:pouvez|pourriez)-vous', r'(?:vous )?(?:pouvez|pourriez) vous',
          r'(?:puede|pueden|podria|podrian)(?: ustedes| usted)?', r'(?:kunt|kunnen|zou|zouden) (?:u|jullie|je)',
          r'(?:pode|podem|poderia|poderiam)(?: voces?)?')
# Fee, penalty and policy questions go to a person: at risk, no case.
FEES = (r'fees?', r'penalt\w*', r'costs?', r'how much', r'policy', r'polic\w*', r'price', r'pricing', r'preis\w*', r'prix', r'precios?', r'prijs', r'precos?',
        r'terms', r'conditions', r'form', r'formular\w*', r'formulaire', r'formulario', r'link', r'button', r'page',
        r'process', r'procedure', r'deadline', r'frist', r'date', r'notice period', r'minimum term',
        r'what happens if', r'refund\w*', r'charged?', r'geb(?:u|ue)hr\w*', r'kosten', r'strafe', r'kundigungsfrist',
        r'vertragsstrafe', r'frais', r'penalite\w*', r'politique', r'delai de preavis', r'combien', r'tarifa',
        r'penalizacion', r'cargos?', r'coste', r'cuanto', r'politica', r'plazo de preaviso', r'boete', r'opzegtermijn',
        r'hoeveel', r'taxas?', r'multa', r'custo', r'quanto', r'prazo de aviso', r'beleid')
# A conditional clause weighs leaving; it does not ask for it.
CONDITIONAL = (r'if', r'whether', r'ob', r'wenn', r'falls', r'si', r'als', r'indien', r'se', r'caso', r'in case')
# 'was cancelled', 'wurde gekündigt', 'a été annulé', 'fue cancelado', 'is geannuleerd', 'foi cancelado'.
PAST_AUX = (r'was', r'were', r'been', r'got', r'gotten', r'has', r'have', r'had', r'is', r'are', r'already',
            r'wurde\w*', r'ist', r'sind', r'hat', r'habe', r'haben', r'hatte\w*', r'schon', r'bereits',
            r'a ete', r'ont ete', r'est', r'sont', r'ai', r'avons', r'deja', r'fue', r'fueron', r'ha sido', r'han sido',
            r'ya', r'he', r'hemos', r'werd', r'werden', r'heb', r'hebben', r'heeft', r'al', r'foi', r'foram', r'ja')
FUTURE_PASSIVE = (r'to be', r'be', r'will be', r'should be', r'would be', r'werden', r'sera', r'ser', r'worden',
                  r'wordt', r'seja')
SUBJECT_PRONOUNS = (r'i', r'we', r'ich', r'wir', r'je', r"j'", r'nous', r'yo', r'nosotros', r'ik', r'wij', r'we',
                    r'eu', r'nos')
# 'changed my mind', 'disregard my cancellation': the customer stays (unless a request follows).
WITHDRAW = (
    r'chang(?:ed|e) (?:my|our) minds?', r'disregard', r'ignore (?:my|our|the) (?:\w+ )?(?:cancel\w*|request|notice|mail|email|message)',
    r'withdraw(?:n|ing)? (?:my|our|the) (?:\w+ )?(?:cancel\w*|request|notice|termination)', r'revok\w*',
    r"(?:want|like|wish|decided|prefer) to stay", r'stay with you', r'keep (?:our|my|the) (?:\w+ )?(?:services?|contract|account)',
    r'widerruf\w*', r'zuruck(?:zieh|nehm)\w*', r'doch nicht (?:kundig\w*|beend\w*)', r'(?:bleiben|bleibe) (?:\w+ ){0,3}?(?:kunde|bei ihnen)',
    r'es anders uberlegt', r'annuler (?:ma|notre) (?:demande|resiliation)', r'retir\w* (?:ma|notre|mi|nuestra|minha|nossa) '
    r'(?:demande|resiliation|solicitud|cancelacion|pedido|solicitacao)', r'rester avec vous', r'change d.avis',
    r'ignorer (?:ma|notre) demande', r'cambiado de opinion', r'quedarnos', r'ignorar mi solicitud',
    r'intrekk\w*|ingetrokken', r'negeer (?:mijn|onze)', r'bedacht', r'blijven (?:\w+ ){0,2}?klant',
    r'mudei de ideia|mudamos de ideia', r'ignor\w* (?:o meu|o nosso|meu|nosso) pedido', r'continuar com voces',
)
# Mail about mail: newsletters and marketing ('unsubscribe', 'stop sending').
STOP = (r'unsubscrib\w*', r'stop (?:sending|emailing|contacting|mailing)', r'remove me from', r'no more (?:e-?mails|mails)',
        r'abmeld\w*', r'keine (?:e-?mails|mails|newsletter) mehr', r'austragen', r'desabonn\w*', r'desinscri\w*',
        r'plus de (?:mails|e-mails|courriels)', r'darme de baja de la lista', r'no mas correos', r'dej(?:ar|en|e|a|ad) de enviar\w*',
        r'afmeld\w*', r'uitschrijv\w*', r'geen (?:mails|e-mails) meer', r'descadastr\w*', r'cancelar (?:a )?inscricao')
CONJUNCTIONS = (r'but', r'and', r'however', r'though', r'aber', r'und', r'jedoch', r'sondern',
                # French 'but'; Portuguese 'não ... mais do serviço' is 'no more', not a new clause
                r'mais(?! (?:do|da|dos|das|de|o|a|os|as|nada|que|um|uma)\b)', r'et', r'pero',
                r'y', r'e', r'sino', r'maar', r'porem', r'because', r'weil', r'denn', r'parce que', r'car',
                r'porque', r'omdat')
# Negations that may follow the action they negate: 'wir kündigen nicht', 'we zeggen niet op', 'je ne résilie pas'.
LATE_NEGATIONS = ('nicht', 'kein', 'keine', 'keinen', 'nie', 'niemals', 'niet', 'geen', 'nooit', 'pas', 'jamais')

# The default services by the names customers use in the six languages (added to `[intent]`
# aliases for a configured service of that name).
SERVICE_WORDS = {
    'seo': ('search engine optimisation', 'search engine optimization', 'suchmaschinenoptimierung', 'referencement',
            'posicionamiento', 'zoekmachineoptimalisatie', 'otimizacao de busca', 'otimizacao para buscadores'),
    'ppc': ('google ads', 'adwords', 'paid search', 'paid ads', 'suchmaschinenwerbung', 'publicite payante',
            'anuncios pagados', 'betaalde advertenties', 'anuncios pagos', 'sea'),
    'social': ('social media', 'soziale medien', 'reseaux sociaux', 'redes sociales', 'sociale media', 'redes sociais',
               'instagram', 'facebook'),
    'content': ('content marketing', 'inhalte', 'contenu', 'contenido', 'conteudo', 'blog posts', 'blogartikel'),
    'email': ('email marketing', 'e-mail marketing', 'e-mail-marketing', 'emailmarketing', 'marketing par e-mail',
              'email-marketing'),
    'website': ('webseite', 'homepage', 'site web', 'site internet', 'sitio web', 'pagina web', 'web site',
                'webdesign', 'web design', 'hosting'),
}
# fmt: on

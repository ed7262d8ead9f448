"""The requests the template gallery seeds its cases with: one per language and kind.

Written the way customers of the demo's first account (Jane Doe of Acme Outdoor Ltd, on
file with SEO, PPC, Social and Content) write: a greeting, the request in their own words
with a date, a sign-off. The tests send the same requests through the whole pipeline, so
a wording the desk cannot read shows there first.
"""

from __future__ import annotations

from datetime import date

# (subject, body) by language, then kind.
REQUESTS: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        "cancel": (
            "Cancelling SEO and PPC",
            "Hello,\n\nwe have decided to end our SEO and PPC services with you. "
            "Please cancel both at the end of March 2027.\n\nKind regards,\nJane Doe\n",
        ),
        "pause": (
            "Pausing SEO over the winter",
            "Hi,\n\nbusiness is slow in winter, so we would like to pause our "
            "SEO until 1 March 2027 and pick it up again then.\n\nBest,\nJane\n",
        ),
        "change": (
            "Change to our PPC package",
            "Hello,\n\nour marketing budget for next year is smaller, so we need to "
            "reduce our PPC budget from 1 January 2027.\n\nThanks,\nJane\n",
        ),
    },
    "de": {
        "cancel": (
            "Kündigung SEO und PPC",
            "Sehr geehrte Damen und Herren,\n\nhiermit kündigen wir unsere Verträge "
            "für SEO und PPC zum 31.03.2027. Bitte bestätigen Sie uns den Eingang der Kündigung.\n\n"
            "Mit freundlichen Grüßen\nJane Doe\n",
        ),
        "pause": (
            "SEO im Winter pausieren",
            "Guten Tag,\n\nim Winter ist bei uns wenig los. Wir möchten unser SEO "
            "deshalb bis zum 1. März 2027 pausieren und danach wieder aufnehmen.\n\nViele Grüße\nJane Doe\n",
        ),
        "change": (
            "Änderung unseres PPC-Pakets",
            "Guten Tag,\n\nunser Marketingbudget für das nächste Jahr ist kleiner. "
            "Wir möchten daher unser PPC-Budget ab dem 1. Januar 2027 reduzieren.\n\n"
            "Mit freundlichen Grüßen\nJane Doe\n",
        ),
    },
    "fr": {
        "cancel": (
            "Résiliation SEO et PPC",
            "Bonjour,\n\nnous avons décidé de mettre fin à nos contrats SEO et PPC. "
            "Merci de résilier les deux au 31 mars 2027 et de nous confirmer la bonne réception de cette "
            "demande.\n\nCordialement,\nJane Doe\n",
        ),
        "pause": (
            "Suspension du SEO cet hiver",
            "Bonjour,\n\nl'hiver est une période calme pour nous : nous "
            "souhaitons suspendre notre SEO jusqu'au 1er mars 2027, puis le reprendre.\n\n"
            "Bien à vous,\nJane Doe\n",
        ),
        "change": (
            "Modification de notre offre PPC",
            "Bonjour,\n\nnotre budget marketing sera plus serré l'an prochain : "
            "nous souhaitons réduire notre budget PPC à partir du 1er janvier 2027.\n\nCordialement,\nJane Doe\n",
        ),
    },
    "es": {
        "cancel": (
            "Baja de SEO y PPC",
            "Buenos días:\n\nhemos decidido dar de baja nuestros servicios de SEO y PPC. "
            "Les rogamos que cancelen ambos a 31 de marzo de 2027 y nos confirmen la recepción.\n\n"
            "Atentamente,\nJane Doe\n",
        ),
        "pause": (
            "Pausa del servicio SEO",
            "Hola:\n\nqueremos pausar nuestro servicio de SEO durante el invierno, "
            "hasta el 1 de marzo de 2027, porque en estos meses tenemos muy pocos clientes.\n\n"
            "Un saludo,\nJane\n",
        ),
        "change": (
            "Cambio en nuestro paquete de PPC",
            "Buenos días:\n\nel año que viene tendremos menos presupuesto de "
            "marketing, así que queremos reducir nuestro presupuesto de PPC a partir del 1 de enero de 2027."
            "\n\nUn saludo,\nJane Doe\n",
        ),
    },
    "nl": {
        "cancel": (
            "Opzegging SEO en PPC",
            "Geachte heer/mevrouw,\n\nhierbij zeggen wij onze diensten SEO en PPC op "
            "per 31 maart 2027. Wilt u de ontvangst van deze opzegging bevestigen?\n\n"
            "Met vriendelijke groet,\nJane Doe\n",
        ),
        "pause": (
            "SEO pauzeren in de winter",
            "Hallo,\n\nin de winter is het bij ons rustig. Wij willen onze SEO "
            "daarom pauzeren tot 1 maart 2027 en daarna weer oppakken.\n\nGroet,\nJane Doe\n",
        ),
        "change": (
            "Wijziging van ons PPC-pakket",
            "Goedendag,\n\nons marketingbudget wordt volgend jaar kleiner. Wij willen "
            "daarom ons PPC-budget verlagen vanaf 1 januari 2027.\n\nMet vriendelijke groet,\nJane Doe\n",
        ),
    },
    "pt": {
        "cancel": (
            "Cancelamento de SEO e PPC",
            "Bom dia,\n\ndecidimos encerrar os nossos serviços de SEO e PPC. "
            "Por favor, cancelem os dois em 31 de março de 2027 e confirmem o recebimento deste pedido.\n\n"
            "Atenciosamente,\nJane Doe\n",
        ),
        "pause": (
            "Pausa do SEO no inverno",
            "Olá,\n\no inverno é uma época fraca para nós, por isso gostaríamos de "
            "pausar o nosso SEO até 1 de março de 2027 e retomá-lo depois.\n\nAbraços,\nJane Doe\n",
        ),
        "change": (
            "Alteração do nosso pacote de PPC",
            "Bom dia,\n\no nosso orçamento de marketing será menor no próximo ano, "
            "por isso precisamos reduzir o nosso orçamento de PPC a partir de 1 de janeiro de 2027.\n\n"
            "Atenciosamente,\nJane Doe\n",
        ),
    },
}

# What each request asks, as the desk must read it.
EXPECTED: dict[str, tuple[tuple[str, ...], date]] = {
    "cancel": (("SEO", "PPC"), date(2027, 3, 31)),
    "pause": (("SEO",), date(2027, 3, 1)),
    "change": (("PPC",), date(2027, 1, 1)),
}
KINDS = ("cancel", "pause", "change")

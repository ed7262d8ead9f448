"""Configuration sections of the playbook: authentication of staff mail, reasons and offers,
command roles, the save call, approvals, offboarding, vendors and the webhook.

Part of the schema in `daemon.config` (which re-exports these classes); documented in
`config.example.toml` under the sections of the same names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from daemon.schema import ConfigError
from parsers.language import DEFAULT as DEFAULT_LANGUAGE
from parsers.language import LANGUAGES

# -- staff commands: authentication, reasons, offers, roles ---------------------------------


@dataclass(frozen=True)
class AuthConfig:
    authserv_ids: tuple[str, ...] = ()
    accept: tuple[Literal["dkim", "spf", "dmarc"], ...] = ("dkim", "spf")
    verify_dkim_locally: bool = True
    receiving_hosts: tuple[str, ...] = ()
    dkim_max_signatures: int = 3
    dkim_dns_budget_seconds: float = 10.0


@dataclass(frozen=True)
class ReasonsConfig:
    categories: tuple[str, ...] = ("price", "results", "budget", "service", "moving_in_house", "other")


@dataclass(frozen=True)
class Offer:
    name: str
    description: str = ""
    answers: tuple[str, ...] = ()  # the reason categories this offer answers


# What a customer reads for each built-in offer the summary says was agreed, by language:
# the catalogue's names are staff's words ("free_month"), not a customer's.
CUSTOMER_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "discount": "a discount on your monthly fee",
        "free_month": "a month of service free of charge",
        "strategy_review": "a strategy review with a senior specialist",
        "new_specialist": "a different specialist on your account",
        "pause": "a pause of your services instead of a cancellation",
        "downgrade": "a smaller package at a lower fee",
        "handover": "a handover to your in-house team",
    },
    "de": {
        "discount": "ein Rabatt auf Ihre monatliche Gebühr",
        "free_month": "ein kostenloser Leistungsmonat",
        "strategy_review": "eine Strategieberatung mit einem erfahrenen Spezialisten",
        "new_specialist": "ein neuer Spezialist für Ihr Konto",
        "pause": "eine Pause Ihrer Leistungen statt einer Kündigung",
        "downgrade": "ein kleineres Paket zu einem geringeren Preis",
        "handover": "eine Übergabe an Ihr internes Team",
    },
    "fr": {
        "discount": "une remise sur votre abonnement mensuel",
        "free_month": "un mois de service offert",
        "strategy_review": "un bilan stratégique avec un spécialiste senior",
        "new_specialist": "un nouveau spécialiste pour votre compte",
        "pause": "une suspension de vos services plutôt qu'une résiliation",
        "downgrade": "une formule plus légère à un tarif réduit",
        "handover": "une passation à votre équipe interne",
    },
    "es": {
        "discount": "un descuento en su cuota mensual",
        "free_month": "un mes de servicio gratuito",
        "strategy_review": "una revisión estratégica con un especialista sénior",
        "new_specialist": "un nuevo especialista para su cuenta",
        "pause": "una pausa de sus servicios en lugar de la cancelación",
        "downgrade": "un paquete más reducido a un precio menor",
        "handover": "un traspaso a su equipo interno",
    },
    "nl": {
        "discount": "korting op uw maandbedrag",
        "free_month": "een maand service zonder kosten",
        "strategy_review": "een strategiesessie met een senior specialist",
        "new_specialist": "een andere specialist voor uw account",
        "pause": "een pauze van uw diensten in plaats van opzegging",
        "downgrade": "een kleiner pakket tegen een lager tarief",
        "handover": "een overdracht aan uw eigen team",
    },
    "pt": {
        "discount": "um desconto na sua mensalidade",
        "free_month": "um mês de serviço gratuito",
        "strategy_review": "uma revisão estratégica com um especialista sênior",
        "new_specialist": "um novo especialista para a sua conta",
        "pause": "uma pausa dos seus serviços em vez do cancelamento",
        "downgrade": "um pacote menor por um valor mais baixo",
        "handover": "uma transição para a sua equipe interna",
    },
}


@dataclass(frozen=True)
class OffersConfig:
    catalogue: tuple[Offer, ...] = (
        Offer("discount", "A discount on the monthly fee for the next months", ("price",)),
        Offer("free_month", "One month of service free of charge", ("price", "results")),
        Offer("strategy_review", "A strategy review with a senior specialist", ("results", "service")),
        Offer("new_specialist", "A different specialist on the account", ("results", "service")),
        Offer("pause", "Pause the services instead of cancelling", ("budget", "moving_in_house")),
        Offer("downgrade", "A smaller package at a lower fee", ("budget", "price")),
        Offer("handover", "A paid handover to the in-house team", ("moving_in_house",)),
    )

    # What customers read for each offer, by language, then by offer name. Not given: the
    # built-in words for the built-in offers.
    customer_words: Mapping[str, Mapping[str, str]] | None = None

    def validate(self, path: str) -> None:
        for language in self.customer_words or {}:
            if language not in LANGUAGES:
                raise ConfigError(f"{path}.customer_words.{language}: a language of the desk ({', '.join(LANGUAGES)})")

    @property
    def words(self) -> Mapping[str, Mapping[str, str]]:
        return CUSTOMER_WORDS if self.customer_words is None else self.customer_words

    def customer_label(self, name: str, language: str) -> str:
        """What a customer reading `language` is told offer `name` is: its words in that
        language, else in English, else the name itself."""
        for words in (self.words.get(language, {}), self.words.get(DEFAULT_LANGUAGE, {})):
            if name in words:
                return words[name]
        return name.replace("_", " ")

    def untranslated(self) -> list[str]:
        """Each language whose customers would read an offer in English or by its name: one line each."""
        found = []
        for language in LANGUAGES:
            missing = [o.name for o in self.catalogue if o.name not in self.words.get(language, {})]
            if missing:
                found.append(f"{language}: no words for {', '.join(missing)}")
        return found

    def answering(self, category: str) -> list[Offer]:
        return [offer for offer in self.catalogue if category in offer.answers]

    def get(self, name: str) -> Offer | None:
        return next((offer for offer in self.catalogue if offer.name == name.lower()), None)


@dataclass(frozen=True)
class CommandsConfig:
    # command name -> the roles that may run it, replacing the command's own default.
    roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


# -- the playbook in depth: save call, approvals, offboarding, vendors, webhook -------------

APPROVAL_CONDITIONS = ("always", "credit", "early_termination")


@dataclass(frozen=True)
class CallsConfig:
    minutes: int = 30
    business_days_after_notice: int = 1
    hour: str = "11:00"
    invite_delay_minutes: int = 60

    def validate(self, path: str) -> None:
        from datetime import time

        if not 1 <= self.business_days_after_notice <= 2:
            raise ConfigError(
                f"{path}.business_days_after_notice: the playbook holds the call within 2 business "
                f"days of the notice: use 1 or 2, got {self.business_days_after_notice}"
            )
        try:
            time.fromisoformat(self.hour)
        except ValueError:
            raise ConfigError(f'{path}.hour: expected a time like "11:00", got {self.hour!r}') from None


@dataclass(frozen=True)
class ApprovalsConfig:
    chain: tuple[str, ...] = (
        "retention",
        "director",
        "finance when credit",
        "general_manager when early_termination",
        "accounting",
    )

    def validate(self, path: str) -> None:
        for i, _ in enumerate(self.chain):
            self.step(i, f"{path}.chain[{i}]")

    def steps(self) -> list[tuple[str, str]]:
        """(role, condition) of every configured step, in order."""
        return [self.step(i) for i in range(len(self.chain))]

    def step(self, index: int, key: str = "approvals.chain") -> tuple[str, str]:
        """'finance when credit' -> ('finance', 'credit'); 'director' -> ('director', 'always')."""
        role, _, condition = (part.strip() for part in self.chain[index].partition(" when "))
        condition = condition or "always"
        if not role or " " in role or condition not in APPROVAL_CONDITIONS:
            raise ConfigError(
                f'{key}: expected "ROLE" or "ROLE when CONDITION" with CONDITION one of '
                f"{', '.join(APPROVAL_CONDITIONS)}, got {self.chain[index]!r}"
            )
        return role, condition


@dataclass(frozen=True)
class OffboardingConfig:
    items: tuple[str, ...] = (
        "Revoke tool access -> team",
        "Close open projects -> team_lead",
        "Pause ad campaigns and recurring ad spend -> PPC",
        "Settle outstanding payments -> accounting",
        "Refunds and final invoice -> finance",
    )

    def validate(self, path: str) -> None:
        for i, line in enumerate(self.items):
            name, arrow, owner = line.partition("->")
            if not arrow or not name.strip() or not owner.strip():
                raise ConfigError(f'{path}.items[{i}]: expected "ITEM -> OWNER", got {line!r}')


@dataclass(frozen=True)
class VendorsConfig:
    notices: tuple[str, ...] = ()

    def validate(self, path: str) -> None:
        for i, line in enumerate(self.notices):
            service, colon, addresses = line.partition(":")
            if not colon or not service.strip() or "@" not in addresses:
                raise ConfigError(f'{path}.notices[{i}]: expected "SERVICE: vendor@example.com", got {line!r}')

    def for_service(self, service: str) -> list[str]:
        found: list[str] = []
        for line in self.notices:
            name, _, addresses = line.partition(":")
            if name.strip().lower() == service.lower():
                found += [a.strip().lower() for a in addresses.split(",") if a.strip()]
        return found


@dataclass(frozen=True)
class WebhookConfig:
    url_env: str = "CANCELDESK_WEBHOOK_URL"
    timeout_seconds: float = 10.0


# -- sheets: billing, offboarding and planner projected onto Google or a workbook -----------

"""Configuration sections of the timers: the business calendar, the timetable, win-back offers.

Part of the schema in `daemon.config` (which re-exports these classes); documented in
`config.example.toml` under [business], [timers] and [winback].
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from daemon.business_calendar import build_calendar
from daemon.schema import ConfigError
from parsers.language import DEFAULT as DEFAULT_LANGUAGE
from parsers.language import LANGUAGES


@dataclass(frozen=True)
class BusinessConfig:
    timezone: str = "UTC"
    hours: str = "09:00-17:30"
    days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    holidays_country: str = ""
    holidays_subdivision: str = ""
    extra_holidays: tuple[str, ...] = ()
    customer_hours: str = "09:00-17:00"

    def validate(self, path: str) -> None:
        self.calendar(path)

    def calendar(self, path: str = "business"):
        """The working calendar these values describe (daemon.business_calendar)."""

        return build_calendar(
            self.timezone,
            self.hours,
            self.days,
            self.holidays_country,
            self.holidays_subdivision,
            self.extra_holidays,
            self.customer_hours,
            path,
        )


@dataclass(frozen=True)
class TimersConfig:
    sla_call_scheduled_business_days: int = 1
    sla_call_held_business_days: int = 2
    approval_reminder_hours: int = 24
    approval_escalation_hours: int = 48
    approval_escalation_roles: tuple[str, ...] = ("director",)
    effective_date_reminder_days: tuple[int, ...] = (7,)
    checklist_retry_business_days: int = 1
    thank_you_days_after_closure: int = 1
    feedback_days_after_closure: int = 14
    winback_days: tuple[int, ...] = (60, 120)
    pause_resume_reminder_days: int = 7
    customer_send_hour: str = "10:00"

    def validate(self, path: str) -> None:
        from datetime import time

        try:
            time.fromisoformat(self.customer_send_hour)
        except ValueError:
            raise ConfigError(
                f'{path}.customer_send_hour: expected a time like "10:00", got {self.customer_send_hour!r}'
            ) from None


@dataclass(frozen=True)
class WinbackText:
    """The win-back offers in one language: "reason: offer" lines and the offer for any other reason."""

    offers: tuple[str, ...] = ()
    default_offer: str = ""

    def validate(self, path: str) -> None:
        for i, line in enumerate(self.offers):
            if ":" not in line or not line.split(":", 1)[0].strip():
                raise ConfigError(f'{path}.offers[{i}]: expected "reason: offer", got {line!r}')
        if not self.default_offer.strip():
            raise ConfigError(f"{path}.default_offer: the offer for any other reason, in this language")

    def offer_for(self, category: str) -> str:
        for line in self.offers:
            key, offer = line.split(":", 1)
            if key.strip().lower() == category:
                return offer.strip()
        return self.default_offer

    def reasons(self) -> set[str]:
        return {line.split(":", 1)[0].strip().lower() for line in self.offers}


ENGLISH_OFFERS = WinbackText(
    offers=(
        "price: 20% off your first three months back",
        "results: a free strategy review and a new specialist on your account",
        "service: a dedicated account manager and a monthly review call",
        "budget: a lighter plan at half the monthly fee, upgrade when you are ready",
    ),
    default_offer="your first month back free",
)

# The built-in offers in the customers' other languages: the English ones, as an agency
# writing in that language would put them. Each fits the letter's sentence after a colon.
TRANSLATED_OFFERS: dict[str, WinbackText] = {
    "de": WinbackText(
        offers=(
            "price: 20\u00a0% Rabatt auf Ihre ersten drei Monate nach der Rückkehr",
            "results: eine kostenlose Strategieberatung und ein neuer Spezialist für Ihr Konto",
            "service: eine feste Ansprechperson für Ihr Konto und ein monatlicher Abstimmungstermin",
            "budget: ein schlankeres Paket zur halben Monatsgebühr, jederzeit wieder aufstockbar",
        ),
        default_offer="ein kostenloser erster Monat nach Ihrer Rückkehr",
    ),
    "fr": WinbackText(
        offers=(
            "price: une remise de 20\u00a0% sur vos trois premiers mois après votre retour",
            "results: un audit stratégique offert et un nouveau spécialiste dédié à votre compte",
            "service: un chargé de compte dédié et un point de suivi mensuel",
            "budget: une formule allégée à moitié prix, que vous ferez évoluer quand vous le souhaiterez",
        ),
        default_offer="votre premier mois offert à votre retour",
    ),
    "es": WinbackText(
        offers=(
            "price: un 20\u00a0% de descuento en sus tres primeros meses a su vuelta",
            "results: una revisión estratégica gratuita y un nuevo especialista para su cuenta",
            "service: un gestor de cuenta dedicado y una reunión de seguimiento mensual",
            "budget: un plan más ligero por la mitad de la cuota mensual, que podrá ampliar cuando lo necesite",
        ),
        default_offer="su primer mes gratis a su vuelta",
    ),
    "nl": WinbackText(
        offers=(
            "price: 20% korting op uw eerste drie maanden na terugkeer",
            "results: een gratis strategiesessie en een nieuwe specialist voor uw account",
            "service: een vaste accountmanager en elke maand een evaluatiegesprek",
            "budget: een lichter pakket voor de helft van het maandbedrag, uit te breiden wanneer u er klaar voor bent",
        ),
        default_offer="uw eerste maand na terugkeer gratis",
    ),
    "pt": WinbackText(
        offers=(
            "price: 20% de desconto nos seus três primeiros meses de volta",
            "results: uma análise estratégica gratuita e um novo especialista dedicado à sua conta",
            "service: um gerente de conta exclusivo e uma reunião mensal de acompanhamento",
            "budget: um plano mais enxuto pela metade da mensalidade, com upgrade quando você quiser",
        ),
        default_offer="o seu primeiro mês de volta grátis",
    ),
}


@dataclass(frozen=True)
class WinbackConfig:
    offers: tuple[str, ...] = ENGLISH_OFFERS.offers
    default_offer: str = ENGLISH_OFFERS.default_offer
    # The offers in the customers' other languages, by language code. Not given: the
    # built-in translations, as long as the English above are the built-in ones too (an
    # agency that rewords its offers must not have the old words go out in translation).
    by_language: Mapping[str, WinbackText] | None = None

    def validate(self, path: str) -> None:
        self.english.validate(path)
        for language in self.by_language or {}:
            if language not in LANGUAGES or language == DEFAULT_LANGUAGE:
                others = ", ".join(x for x in LANGUAGES if x != DEFAULT_LANGUAGE)
                raise ConfigError(f"{path}.by_language.{language}: a language of the desk ({others})")

    @property
    def english(self) -> WinbackText:
        return WinbackText(self.offers, self.default_offer)

    @property
    def translations(self) -> Mapping[str, WinbackText]:
        if self.by_language is not None:
            return self.by_language
        return TRANSLATED_OFFERS if self.english == ENGLISH_OFFERS else {}

    def text_for(self, language: str) -> WinbackText:
        """The offers a customer writing `language` reads: theirs, else the English."""
        return self.translations.get(language) or self.english

    def offer_for(self, reason: str | None, language: str = DEFAULT_LANGUAGE) -> str:
        """The offer written for the reason a customer left (its category, before any ':'), in their language."""
        category = (reason or "").split(":", 1)[0].strip().lower()
        return self.text_for(language).offer_for(category)

    def untranslated(self) -> list[str]:
        """What customers of another language read in English, or only as the default: one line each."""
        found = []
        for language in LANGUAGES:
            if language == DEFAULT_LANGUAGE:
                continue
            text = self.translations.get(language)
            if text is None:
                found.append(f"{language}: no offers in {language}, the English ones are sent")
                continue
            missing = sorted(self.english.reasons() - text.reasons())
            if missing:
                found.append(f"{language}: no offer for {', '.join(missing)}, its default_offer is sent")
        return found

"""Outgoing mail text from Jinja2 templates: operator data, not code.

Each message is one file in `templates/`: a `Subject:` line, a blank line, then the plain
text body; an optional `NAME.html` beside it adds an HTML part. An override folder from
the configuration is searched first, so an agency rewords a mail without touching code.
`StrictUndefined` turns a missing value into an error instead of a silent blank.
A mail in another language is `LANG/NAME.txt` in the same folders (`de/acknowledgment.txt`),
found before the English `NAME.txt`, which stands in for a missing translation; the filters
`day`, `moment` and `money` write dates, times and amounts in the mail's language (Babel),
one style for every mail. `CUSTOMER_TEMPLATES` are the mails a customer reads: each should
exist in every language of `parsers.language.LANGUAGES` (`canceldesk check` names a gap).
Every text body leaves tidied (daemon.mail.mailtext): wrapped at about 72 characters, without
doubled blank lines.
Every text body leaves here with its command lines defused (`parsers.commands.defuse`):
whatever a template or the text it quotes says, our mail never carries a runnable command.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta

from daemon.mail.mailtext import tidy
from daemon.mail.style import Style
from parsers.commands import defuse
from parsers.language import DEFAULT as DEFAULT_LANGUAGE
from parsers.language import LANGUAGES

log = logging.getLogger(__name__)

BUILTIN_DIR = Path(__file__).resolve().parents[2] / "templates"

# The mails a customer (not staff, not the account's team) receives: written in the
# customer's language. Staff and the team read the desk's.
CUSTOMER_TEMPLATES = (
    "acknowledgment",
    "verification_request",
    "confirm_request",
    "written_request_needed",
    "join_acknowledgment",
    "customer_summary",
    "call_invite",
    "call_cancelled",
    "pause_resume_reminder",
    "closure_confirmation",
    "thank_you",
    "feedback_request",
    "winback_1",
    "winback",
    "commands_not_for_customers",
)


class TemplateProblem(Exception):
    """A template is missing or malformed; names the template."""


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str | None


class Renderer:
    def __init__(self, override_dir: str | Path | None = None, staff: Style | None = None) -> None:
        # Staff and the team read every mail that is not a customer's in the desk's
        # language, zone and currency.
        self.staff = staff or Style()
        # The sentences the desk writes in code for staff (command answers, timeline lines,
        # values handed to staff templates): the desk's zone and currency, in English, the
        # language of those sentences.
        self.staff_sentences = replace(self.staff, language=DEFAULT_LANGUAGE)
        folders = [str(override_dir)] if override_dir else []
        folders.append(str(BUILTIN_DIR))
        self._folders = [Path(f) for f in folders]
        self._customer = CUSTOMER_TEMPLATES
        self._env = _environment(folders, autoescape=False)
        # One HTML environment per folder, kept: its template cache spares a compile per mail.
        self._html_envs: dict[Path, jinja2.Environment] = {}

    def names(self) -> list[str]:
        return sorted({Path(n).stem for n in self._env.list_templates(extensions=["txt"])})

    def missing_translations(self) -> list[str]:
        """'de/thank_you.txt in FOLDER' for each customer template with no text in a language the
        desk writes, beside the English that is used: those customers read the English."""
        missing = []
        for name in self._customer:
            folder = self._english_folder(name)
            if folder is None:
                continue
            missing += [
                f"{language}/{name}.txt in {folder}"
                for language in LANGUAGES
                if language != DEFAULT_LANGUAGE and not (folder / language / f"{name}.txt").is_file()
            ]
        return missing

    def missing_staff_translations(self) -> list[str]:
        """'de/team_notice.txt' for each staff mail with no text in the desk's language (`[desk] language`)."""
        language = self.staff.language
        if language == DEFAULT_LANGUAGE:
            return []
        return [
            f"{language}/{name}.txt"
            for name in self.names()
            if name not in self._customer and f"{language}/{name}.txt" not in self._candidates(name, language)
        ]

    def _english_folder(self, name: str) -> Path | None:
        return next((f for f in self._folders if (f / f"{name}.txt").is_file()), None)

    def _candidates(self, name: str, language: str) -> list[str]:
        """The translation beside the English that wins, else that English.

        An agency that rewords a mail in its override folder and has not translated it
        yet sends its own English words, never the built-in translation of the old ones."""
        if language == DEFAULT_LANGUAGE:
            return [f"{name}.txt"]
        for folder in self._folders:
            if (folder / language / f"{name}.txt").is_file():
                return [f"{language}/{name}.txt"]
            if (folder / f"{name}.txt").is_file():
                return [f"{name}.txt"]
        return [f"{name}.txt"]

    def variables(self, name: str) -> set[str]:
        """The values template `name` (text and HTML, every language) asks for: what a preview must supply."""
        found: set[str] = set()
        for suffix in ("txt", "html", *(f"{lang}/{name}.txt" for lang in LANGUAGES)):
            if "/" in suffix:
                try:
                    source = self._env.loader.get_source(self._env, suffix)[0]
                except jinja2.TemplateNotFound:
                    continue
                found |= jinja2.meta.find_undeclared_variables(self._env.parse(source))
                continue
            try:
                source = self._env.loader.get_source(self._env, f"{name}.{suffix}")[0]
            except jinja2.TemplateNotFound:
                continue
            found |= jinja2.meta.find_undeclared_variables(self._env.parse(source))
        return found

    def language_of(self, name: str, language: str) -> str:
        """The language mail `name` for a reader of `language` is written in: theirs, or English
        where it has no translation. Configured text put into the mail (a win-back offer) follows it."""
        return language if self._candidates(name, language) == [f"{language}/{name}.txt"] else DEFAULT_LANGUAGE

    def render(self, name: str, context: dict[str, Any], language: str = DEFAULT_LANGUAGE) -> RenderedMail:
        if name not in self._customer:
            language = self.staff.language
            context = {**context, "zone": self.staff.zone, "currency": self.staff.currency}
        candidates = self._candidates(name, language)
        try:
            template = self._env.select_template(candidates)
        except jinja2.TemplatesNotFound:
            raise TemplateProblem(f"template {name}.txt not found") from None
        # The language of the words found, which the date filters follow: an untranslated
        # mail reads wholly in English rather than English around another language's dates.
        found = language if template.name != f"{name}.txt" else DEFAULT_LANGUAGE
        context = {**context, "language": found}
        subject, body = _split_subject(name, template.render(context))
        return RenderedMail(subject, body, self._render_html(name, Path(template.filename).parent, context))

    def _render_html(self, name: str, folder: Path, context: dict[str, Any]) -> str | None:
        # Only the HTML beside the text that was used: an operator who rewords the text
        # must not have the built-in HTML go out with the old words.
        if not (folder / f"{name}.html").is_file():
            return None
        return self._html_env(folder).get_template(f"{name}.html").render(context)

    def _html_env(self, folder: Path) -> jinja2.Environment:
        html_env = self._html_envs.get(folder)
        if html_env is None:
            html_env = self._html_envs[folder] = _environment([str(folder)], autoescape=True)
        return html_env

    def warm_up(self) -> None:
        """Compile every template now, at start-up: compiled on first use, the first mails
        after a start would each wait for theirs (a request's four took 30 ms of its 130)."""
        pages = [(self._env, name) for name in self._env.list_templates(extensions=["txt"])]
        pages += [(self._html_env(f), page.name) for f in self._folders for page in sorted(f.glob("*.html"))]
        for env, name in pages:
            try:
                env.get_template(name)
            except jinja2.TemplateError as exc:
                # Not a reason to stay down: the mail that needs it fails, and says so, as before.
                log.warning("template %s does not compile: %s", name, exc)


def _environment(folders: list[str], autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folders),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(day=_day, moment=_moment, money=_money, names=_names)
    return env


def _style(context) -> Style:
    """The mail's style: the language of its words, its reader's zone, the desk's currency."""
    return Style(
        context.get("language", DEFAULT_LANGUAGE),
        context.get("zone") or Style.zone,
        context.get("currency") or Style.currency,
    )


@jinja2.pass_context
def _day(context, value) -> str:
    """A day as a reader of the mail's language writes it: '1 March 2027', '1. März 2027'."""
    return _style(context).day(value)


@jinja2.pass_context
def _moment(context, value, zone: str | None = None) -> str:
    """A moment in `zone` (the mail's `zone` by default), in the mail's language:
    'Montag, 23. November 2026, 09:00 MEZ (UTC+01:00)'."""
    return _style(context).moment(value, zone)


@jinja2.pass_context
def _money(context, value, currency: str | None = None) -> str:
    """An amount with its currency as the mail's language writes it: '£1,200.00', '1.200,00 €'."""
    return _style(context).money(value, currency)


@jinja2.pass_context
def _names(context, values) -> str:
    """Services and other names in a sentence of the mail's language: 'SEO and PPC', 'SEO et PPC'."""
    return _style(context).names(values)


def _split_subject(name: str, text: str) -> tuple[str, str]:
    head, sep, body = text.partition("\n\n")
    if not sep or not head.lower().startswith("subject:"):
        raise TemplateProblem(f"template {name}.txt must start with 'Subject: ...' and a blank line")
    subject = " ".join(head[len("subject:") :].split())
    return subject, defuse(tidy(body))

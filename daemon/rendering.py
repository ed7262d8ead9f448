"""Outgoing mail text from Jinja2 templates: operator data, not code.

Each message is one file in `templates/`: a `Subject:` line, a blank line, then the plain
text body; an optional `NAME.html` beside it adds an HTML part. An override folder from
the configuration is searched first, so an agency rewords a mail without touching code.
`StrictUndefined` turns a missing value into an error instead of a silent blank.
A mail in another language is `LANG/NAME.txt` in the same folders (`de/acknowledgment.txt`),
found before the English `NAME.txt`, which stands in for a missing translation; the filters
`day` and `moment` write dates in the mail's language (Babel).
Every text body leaves here with its command lines defused (`parsers.commands.defuse`):
whatever a template or the text it quotes says, our mail never carries a runnable command.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import jinja2.meta
from babel.dates import format_date, format_time

from parsers.commands import defuse
from parsers.language import DEFAULT as DEFAULT_LANGUAGE

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "templates"


class TemplateProblem(Exception):
    """A template is missing or malformed; names the template."""


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str | None


class Renderer:
    def __init__(self, override_dir: str | Path | None = None) -> None:
        folders = [str(override_dir)] if override_dir else []
        folders.append(str(BUILTIN_DIR))
        self._env = _environment(folders, autoescape=False)
        # One HTML environment per folder, kept: its template cache spares a compile per mail.
        self._html_envs: dict[Path, jinja2.Environment] = {}

    def names(self) -> list[str]:
        return sorted({Path(n).stem for n in self._env.list_templates(extensions=["txt"])})

    def variables(self, name: str) -> set[str]:
        """The values template `name` (text and HTML) asks for: what a preview must supply."""
        found: set[str] = set()
        for suffix in ("txt", "html"):
            try:
                source = self._env.loader.get_source(self._env, f"{name}.{suffix}")[0]
            except jinja2.TemplateNotFound:
                continue
            found |= jinja2.meta.find_undeclared_variables(self._env.parse(source))
        return found

    def render(self, name: str, context: dict[str, Any], language: str = DEFAULT_LANGUAGE) -> RenderedMail:
        candidates = [f"{name}.txt"] if language == DEFAULT_LANGUAGE else [f"{language}/{name}.txt", f"{name}.txt"]
        try:
            template = self._env.select_template(candidates)
        except jinja2.TemplatesNotFound:
            raise TemplateProblem(f"template {name}.txt not found") from None
        # The language of the words found, which the date filters follow.
        found = language if template.name != f"{name}.txt" else DEFAULT_LANGUAGE
        context = {**context, "language": found}
        subject, body = _split_subject(name, template.render(context))
        return RenderedMail(subject, body, self._render_html(name, Path(template.filename).parent, context))

    def _render_html(self, name: str, folder: Path, context: dict[str, Any]) -> str | None:
        # Only the HTML beside the text that was used: an operator who rewords the text
        # must not have the built-in HTML go out with the old words.
        if not (folder / f"{name}.html").is_file():
            return None
        html_env = self._html_envs.get(folder)
        if html_env is None:
            html_env = self._html_envs[folder] = _environment([str(folder)], autoescape=True)
        return html_env.get_template(f"{name}.html").render(context)


def _environment(folders: list[str], autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folders),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(day=_day, moment=_moment)
    return env


# The desk writes British English: '1 March 2027', not 'March 1, 2027'.
_LOCALES = {"en": "en_GB"}


def _locale(context) -> str:
    language = context.get("language", DEFAULT_LANGUAGE)
    return _LOCALES.get(language, language)


@jinja2.pass_context
def _day(context, value) -> str:
    """A day as a reader of the mail's language writes it: '1 March 2027', '1. März 2027'."""
    return format_date(value, format="long", locale=_locale(context)) if value else ""


@jinja2.pass_context
def _moment(context, value, zone: str) -> str:
    """A moment in `zone`, in the mail's language: 'Montag, 23. November 2026, 09:00 GMT'."""
    local, locale = value.astimezone(ZoneInfo(zone)), _locale(context)
    return f"{format_date(local, format='full', locale=locale)}, {format_time(local, 'HH:mm z', locale=locale)}"


def _split_subject(name: str, text: str) -> tuple[str, str]:
    head, sep, body = text.partition("\n\n")
    if not sep or not head.lower().startswith("subject:"):
        raise TemplateProblem(f"template {name}.txt must start with 'Subject: ...' and a blank line")
    subject = " ".join(head[len("subject:") :].split())
    return subject, defuse(body.strip()) + "\n"

"""#language CODE: the language the customer's mail is written in, from now on.

The desk reads the language from the request's own words, and an account may have one on
file; staff who know better (a customer who writes English but reads German more easily,
or a request too short to tell) set it for the case: `#language de`. `#language auto`
goes back to what the request and the account say. Staff mail stays in the desk's language.
"""

from __future__ import annotations

from daemon.cases import record
from daemon.commands.base import ANY_STAFF, Command, CommandContext, Refused
from daemon.mail.mailer import customer_language
from parsers.language import LANGUAGES

NAMES = {"en": "English", "de": "German", "fr": "French", "es": "Spanish", "nl": "Dutch", "pt": "Portuguese"}
AUTO = "auto"


def process(ctx: CommandContext, args: str) -> str:
    code = args.strip().lower()
    by_name = {name.lower(): c for c, name in NAMES.items()}
    code = by_name.get(code, code)
    details = dict(ctx.case.details or {})
    if code == AUTO:
        details.pop("language_chosen", None)
        ctx.case.details = details
        summary = f"the customer's mail follows their request again ({NAMES[customer_language(ctx.case)]})"
    elif code in LANGUAGES:
        details["language_chosen"] = code
        ctx.case.details = details
        summary = f"the customer's mail is written in {NAMES[code]} from now on"
    else:
        raise Refused(f"unknown language {args.strip() or '(none)'!r}; use one of: {', '.join(LANGUAGES)} or auto")
    record(ctx.session, ctx.case, "language", at=ctx.now, actor=ctx.staff.email, summary=summary)
    return summary


COMMAND = Command(
    name="language",
    usage="#language de|fr|es|nl|pt|en|auto",
    summary="Write the customer's mail in this language (auto: as they wrote).",
    roles=ANY_STAFF,
    states=None,
    needs_case=True,
    process=process,
)

"""`canceldesk templates preview NAME --case REF`: a template rendered with a real case.

The case's own values fill what every case template uses; a value that only exists when
the desk sends the mail (an approval step, a timer's day) is shown as ‹name›, and listed,
so the operator sees the whole message and knows which parts will differ.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from daemon.cases.effects import case_context
from daemon.mail.rendering import RenderedMail

if TYPE_CHECKING:
    from daemon.desk import Desk


class Placeholder:
    """Any value the case cannot supply: renders as ‹its name›, whatever is asked of it."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, name: str) -> Placeholder:
        if name.startswith("__"):
            raise AttributeError(name)
        return Placeholder(f"{self._name}.{name}")

    def __getitem__(self, key) -> Placeholder:
        return Placeholder(f"{self._name}[{key}]")

    def __iter__(self):
        return iter([Placeholder(f"{self._name}[0]")])

    def __str__(self) -> str:
        return f"‹{self._name}›"

    def __bool__(self) -> bool:
        return True


def preview(desk: Desk, case, name: str) -> tuple[RenderedMail, list[str]]:
    """(the rendered mail, the names of the values shown as placeholders)."""
    if name not in desk.renderer.names():
        raise LookupError(f"no template named {name!r}; templates: {', '.join(desk.renderer.names())}")
    context = case_context(desk, case)
    missing = sorted(desk.renderer.variables(name) - set(context))
    context.update({var: Placeholder(var) for var in missing})
    return desk.renderer.render(name, context), missing

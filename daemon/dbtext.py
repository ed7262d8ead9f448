"""Text the database cannot take, escaped on its way in: never a reason to lose a mail.

PostgreSQL refuses NUL (0x00) in text; neither database driver can encode the lone
surrogates that `surrogateescape` decoding leaves in a string. A Maildir file or a decoded
header can carry either. Every string parameter of every statement passes through
`escape_parameters` (hooked on the engine by `daemon.db`), which writes such characters
as visible backslash escapes ('\\x00', '\\udcff'): the text is kept, and readable.
"""

from __future__ import annotations

from typing import Any


def escape_text(value: str) -> str:
    if value.isascii():
        return value.replace("\x00", "\\x00") if "\x00" in value else value
    value = value.replace("\x00", "\\x00")
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")


def _escaped(value: Any) -> Any:
    if isinstance(value, str):
        return escape_text(value)
    if isinstance(value, dict):
        return {key: _escaped(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_escaped(item) for item in value)
    return value


def _plain(values) -> bool:
    """Nothing in `values` (a statement's parameters) to escape: no string with a NUL or
    beyond ASCII (such a one is looked at closely by `_escaped`). Most statements carry
    none, and are passed on as they are rather than copied."""
    if isinstance(values, dict):
        values = values.values()
    for value in values:
        if isinstance(value, str):
            if not value.isascii() or "\x00" in value:
                return False
        elif isinstance(value, (dict, list, tuple)) and not _plain(value):
            return False
    return True


def escape_parameters(conn, cursor, statement, parameters, context, executemany):
    """SQLAlchemy `before_cursor_execute` hook (retval=True)."""
    if isinstance(parameters, (dict, list, tuple)) and _plain(parameters):
        return statement, parameters
    return statement, _escaped(parameters)

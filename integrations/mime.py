"""MIME pieces shared by the mail the desk composes and the invitations it attaches.

A multipart's boundary is chosen here, in the email package's own form, and checked
against the texts it separates with a substring test: left to the generator, the check
compiles a regular expression anew for every mail.
"""

from __future__ import annotations

import secrets
import sys


def fresh_boundary(*texts: str) -> str:
    """A boundary in the email package's own form that occurs in none of `texts`."""
    while True:
        boundary = "=" * 15 + f"{secrets.randbelow(sys.maxsize):019d}" + "=="
        if not any(boundary in text for text in texts):
            return boundary

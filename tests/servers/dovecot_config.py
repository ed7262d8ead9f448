"""The one-file configuration of a test Dovecot, and who owns its mail files.

Kept apart from `dovecot.py` (the process's lifecycle, its users and mail): this is only
the text Dovecot reads at start, written by `write_config` into the server's directory.
"""

from __future__ import annotations

import grp
import os
import pwd
from dataclasses import dataclass
from pathlib import Path

# Dovecot's own default list minus IDLE and MOVE: lets tests exercise the polling
# and COPY + EXPUNGE fallbacks against the same real server.
CAPABILITIES_WITHOUT_IDLE_AND_MOVE = (
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE SORT SORT=DISPLAY THREAD=REFERENCES "
    "THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT "
    "CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH "
    "ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY SPECIAL-USE"
)


@dataclass(frozen=True)
class MailAccount:
    """Who owns the mail files: nobody as root (Dovecot refuses uid 0), else ourselves."""

    user: str
    uid: int
    gid: int
    group: str

    @classmethod
    def for_this_process(cls) -> MailAccount:
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            return cls("nobody", nobody.pw_uid, nobody.pw_gid, grp.getgrgid(nobody.pw_gid).gr_name)
        me = pwd.getpwuid(os.geteuid())
        return cls(me.pw_name, me.pw_uid, me.pw_gid, grp.getgrgid(me.pw_gid).gr_name)


def write_config(
    d: Path,
    *,
    account: MailAccount,
    port: int,
    tls_port: int | None,
    capabilities: str | None,
    introspection_url: str | None,
    extra_config: str,
) -> None:
    """Write `d`/dovecot.conf (and oauth2.conf.ext when there is an introspection URL).

    With `tls_port` the server offers STARTTLS on `port` and implicit TLS on `tls_port`,
    using `d`/cert.pem and `d`/key.pem.
    """
    capability = f"imap_capability = {capabilities}\n" if capabilities else ""
    oauth_mechanisms = " xoauth2 oauthbearer" if introspection_url else ""
    (d / "dovecot.conf").write_text(
        f"base_dir = {d}/run\n"
        f"state_dir = {d}/state\n"
        f"log_path = {d}/dovecot.log\n"
        f"info_log_path = {d}/dovecot.log\n"
        "listen = 127.0.0.1\n"
        "protocols = imap\n"
        f"{_ssl_lines(d, tls_port)}"
        "disable_plaintext_auth = no\n"
        f"auth_mechanisms = plain login{oauth_mechanisms}\n"
        # Failed logins answer at once instead of after two seconds, and the next failures
        # from 127.0.0.1 are not held back more and more (anvil's auth penalty, 4 s and up):
        # tests log in wrongly on purpose.
        "auth_failure_delay = 0\n"
        "first_valid_uid = 1\n"
        f"mail_location = maildir:{d}/mail/%u/Maildir\n"
        f"{_service_lines(account)}"
        "service imap-login {\n"
        f"  inet_listener imap {{\n    port = {port}\n  }}\n"
        f"  inet_listener imaps {{\n    port = {tls_port or 0}\n  }}\n"
        "}\n"
        "passdb {\n  driver = passwd-file\n"
        f"  args = scheme=PLAIN username_format=%u {d}/users/%u\n}}\n"
        "userdb {\n  driver = static\n"
        f"  args = uid={account.uid} gid={account.gid} home={d}/mail/%u\n}}\n"
        f"{_oauth2_passdb(d, introspection_url)}"
        f"{capability}"
        f"{extra_config}"
    )


def _service_lines(account: MailAccount) -> str:
    """Process users: as root keep Dovecot's own; otherwise everything runs as us, unchrooted.
    Either way anvil keeps no auth penalty."""
    no_penalty = "  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n"  # see auth_failure_delay
    if os.geteuid() == 0:
        return f"service anvil {{\n{no_penalty}}}\n"
    return (
        f"default_internal_user = {account.user}\n"
        f"default_internal_group = {account.group}\n"
        f"default_login_user = {account.user}\n"
        f"service anvil {{\n  chroot =\n{no_penalty}}}\n"
        "service imap-login {\n  chroot =\n}\n"
    )


def _ssl_lines(d: Path, tls_port: int | None) -> str:
    if not tls_port:
        return "ssl = no\n"
    return f"ssl = yes\nssl_cert = <{d}/cert.pem\nssl_key = <{d}/key.pem\n"


def _oauth2_passdb(d: Path, introspection_url: str | None) -> str:
    if not introspection_url:
        return ""
    settings = d / "oauth2.conf.ext"
    settings.write_text(
        "introspection_mode = post\n"
        f"introspection_url = {introspection_url}\n"
        "username_attribute = username\n"
        "active_attribute = active\n"
        "active_value = true\n"
    )
    return (
        "passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
        f"  args = {settings}\n}}\n"
    )

"""Thin adapters to the outside: IMAP, Maildir, SMTP, Sheets, calendar invites."""

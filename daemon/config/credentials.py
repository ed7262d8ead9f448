"""Secrets for the mailbox, SMTP and the database: from an environment variable or a command.

Never from the configuration file, and never into a log or an error message. The
command form (getmail6's `password_command`) lets an operator use a keyring, `pass`, or an
OAuth2 helper that prints a fresh access token; it is run again on every connection
because Microsoft 365 and Gmail tokens expire within the hour.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable

from daemon.schema import ConfigError


def secret_provider(env_name: str, command: str, what: str) -> Callable[[], str]:
    """A zero-argument callable returning the secret, read afresh on each call."""

    def provide() -> str:
        if command:
            return _run_command(command, what)
        if env_name and env_name in os.environ:
            return os.environ[env_name]
        raise ConfigError(
            f"{what}.password_env: the environment variable {env_name} is not set (set it, or {what}.password_command)"
        )

    return provide


def _run_command(command: str, what: str) -> str:
    try:
        done = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"{what}: password_command could not run: {exc.__class__.__name__}") from None
    if done.returncode != 0:
        # stderr is shown, stdout never: stdout would be the secret.
        raise ConfigError(
            f"{what}: password_command failed with exit code {done.returncode}: {done.stderr.strip()[:200]}"
        )
    return done.stdout.strip()

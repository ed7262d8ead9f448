"""The configuration schema: the example file documents every key; errors name the key."""
from __future__ import annotations

import dataclasses
import subprocess
import sys
import tomllib
import typing

import pytest

from daemon import config as cfg
from daemon.config.credentials import secret_provider
from daemon.schema import ConfigError
from parsers.language import LANGUAGES
from tests.support import REPO

EXAMPLE = REPO / "config.example.toml"


def _keys(cls, prefix=""):
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if field.name == "base_dir":
            continue
        if dataclasses.is_dataclass(hints[field.name]):
            yield from _keys(hints[field.name], f"{prefix}{field.name}.")
        else:
            yield f"{prefix}{field.name}"


def _flatten(table, prefix=""):
    for key, value in table.items():
        if isinstance(value, dict) and key not in ("phrases", "roles", "service_aliases", "by_language", "customer_words"):  # tables that are values
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def test_example_file_lists_every_key_with_its_default():
    example = dict(_flatten(tomllib.loads(EXAMPLE.read_text())))
    defaults = cfg.Config()
    for key in _keys(cfg.Config):
        assert key in example, f"config.example.toml does not document {key}"
        section, name = key.split(".", 1)
        default = getattr(getattr(defaults, section), name)
        written = example[key]
        if isinstance(default, tuple):
            written = tuple(written)
        # Lists and tables of tables: see their own tests.
        if key not in ("intent.phrases", "staff.members", "offers.catalogue", "winback.by_language",
                       "offers.customer_words"):
            assert written == default, f"{key}: example says {written!r}, default is {default!r}"


def test_example_file_writes_out_the_built_in_winback_offers_in_each_language():
    loaded = cfg.load(EXAMPLE).winback
    assert dict(loaded.translations) == dict(cfg.Config().winback.translations)
    assert loaded.untranslated() == [] and set(loaded.translations) == set(LANGUAGES) - {"en"}


def test_example_file_writes_out_the_built_in_offer_words_customers_read():
    loaded = cfg.load(EXAMPLE).offers
    assert {k: dict(v) for k, v in loaded.words.items()} == cfg.Config().offers.words
    assert loaded.untranslated() == []
    assert loaded.customer_label("free_month", "de") == "ein kostenloser Leistungsmonat"


def test_example_file_loads(tmp_path):
    loaded = cfg.load(EXAMPLE)
    assert loaded.desk.address == "cancel@agency.example"
    assert loaded.mailbox.url == "maildir:inbox"
    assert str(loaded.path("inbox")) == str(REPO / "inbox")


@pytest.mark.parametrize("text, key", [
    ("[desk]\nadress = 'x@y'\n", "desk.adress"),
    ("[mailbox]\nurl = 'pop3://host'\n", "mailbox.url"),
    ("[mailbox]\nidle_renew_seconds = 3600\n", "mailbox.idle_renew_seconds"),
    ("[mailbox]\nfetch_batch = 'many'\n", "mailbox.fetch_batch"),
    ("[smtp]\nurl = 'smtp://user:hunter2@mail.example'\n", "smtp.url"),
    ("[database]\nurl = 'postgresql://u:hunter2@db/x'\n", "database.url"),
    ("[desk]\ntimezone = 'Mars/Olympus'\n", "desk.timezone"),
    ("[desk]\nafter_closure = 'maybe'\n", "desk.after_closure"),
    ("[staff]\nmembers = [{ email = 'a@b', rolez = ['x'] }]\n", "staff.members[0].rolez"),
    ("surprise = 1\n", "surprise"),
])
def test_bad_values_are_errors_naming_the_key(text, key):
    with pytest.raises(ConfigError) as caught:
        cfg.from_text(text)
    assert str(caught.value).startswith(key), str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_secret_from_environment_and_command(monkeypatch):
    monkeypatch.setenv("CD_TEST_SECRET", "s3cret-env")
    assert secret_provider("CD_TEST_SECRET", "", "mailbox")() == "s3cret-env"
    command = f"{sys.executable} -c \"print('s3cret-cmd')\""
    assert secret_provider("CD_TEST_SECRET", command, "mailbox")() == "s3cret-cmd"


def test_missing_secret_names_the_variable_not_a_value(monkeypatch):
    monkeypatch.delenv("CD_TEST_ABSENT", raising=False)
    with pytest.raises(ConfigError, match="CD_TEST_ABSENT"):
        secret_provider("CD_TEST_ABSENT", "", "mailbox")()


def test_failing_password_command_does_not_show_its_output():
    command = f"{sys.executable} -c \"import sys; print('leaked-secret'); sys.exit(3)\""
    with pytest.raises(ConfigError) as caught:
        secret_provider("", command, "smtp")()
    assert "exit code 3" in str(caught.value)
    assert "leaked-secret" not in str(caught.value)


def test_check_prints_a_line_for_every_part(tmp_path):
    (tmp_path / "config.toml").write_text(
        "[mailbox]\nurl = 'imap://desk@127.0.0.1:1/INBOX?starttls=no'\nconnect_timeout = 2.0\n"
        "[database]\nurl = 'sqlite:///cd.db'\n")
    done = subprocess.run([sys.executable, "-m", "daemon", "--config", str(tmp_path / "config.toml"), "check"],
                          capture_output=True, text=True, cwd=REPO, env={"PATH": "/usr/bin:/bin",
                                                                         "CANCELDESK_IMAP_PASSWORD": "pw-not-shown"})
    lines = done.stdout.splitlines()
    parts = [line.split()[0] for line in lines]
    assert parts == ["configuration", "database", "mailbox", "smtp", "sheets", "templates", "staff", "roles",
                     "auth"], done.stdout + done.stderr
    assert lines[2].split()[1] == "FAILED"   # nothing listens on port 1
    assert lines[1].split()[1] == "ok"
    assert "pw-not-shown" not in done.stdout + done.stderr
    assert lines[6].split()[1] == "FAILED"   # no staff at all: a configuration to change
    assert done.returncode == 2


def test_check_reports_a_bad_file(tmp_path):
    (tmp_path / "config.toml").write_text("[desk]\nnmae = 'x'\n")
    done = subprocess.run([sys.executable, "-m", "daemon", "--config", str(tmp_path / "config.toml"), "check"],
                          capture_output=True, text=True, cwd=REPO)
    assert "desk.nmae: unknown key" in done.stdout
    assert done.returncode == 2


def test_a_key_an_earlier_release_read_is_named_and_skipped(caplog):
    config = cfg.from_text('[smtp]\nurl = "file:outbox"\nmax_attempts = 3\n')
    assert config.smtp.url == "file:outbox"
    assert "smtp.max_attempts: no longer used" in caplog.text and "[outbox] max_attempts" in caplog.text
    with pytest.raises(ConfigError, match="smtp.max_attempt: unknown key"):  # a misspelling is still an error
        cfg.from_text('[smtp]\nmax_attempt = 3\n')

"""docs/commands.md is the registry's current text; the example configuration's catalogue is the default."""
from __future__ import annotations

import tomllib

import pytest

from daemon import config as cfg
from daemon.commands.registry import COMMANDS, lookup
from daemon.schema import ConfigError, build
from tests.support import REPO
from tools import gen_commands_doc


def test_commands_doc_is_up_to_date():
    written = (REPO / "docs" / "commands.md").read_text(encoding="utf-8")
    assert written == gen_commands_doc.render(), "docs/commands.md is stale: run tools/gen_commands_doc.py"


def test_every_command_is_documented_and_found_by_name():
    doc = gen_commands_doc.render()
    for command in COMMANDS:
        assert lookup(command.name) is command
        assert f"| `{command.usage.replace('|', chr(92) + '|')}` | {command.summary} |" in doc
    assert len({c.name for c in COMMANDS}) == len(COMMANDS)


def test_example_catalogue_is_the_default_catalogue():
    example = tomllib.loads((REPO / "config.example.toml").read_text(encoding="utf-8"))
    written, default = build(cfg.OffersConfig, example["offers"], "offers"), cfg.OffersConfig()
    assert written.catalogue == default.catalogue
    # The words customers read are written out too, as the built-in ones.
    assert {language: dict(words) for language, words in written.words.items()} == default.words
    assert example["commands"]["roles"] == {}


def test_every_default_offer_answers_a_known_reason():
    categories = set(cfg.ReasonsConfig().categories)
    for offer in cfg.OffersConfig().catalogue:
        assert offer.answers and set(offer.answers) <= categories, offer


def test_command_roles_are_read_from_a_table():
    loaded = cfg.from_text('[commands.roles]\nwithdrawn = ["director", "retention"]\n')
    assert loaded.commands.roles == {"withdrawn": ("director", "retention")}
    with pytest.raises(ConfigError, match=r"auth\.accept\[1\]"):
        cfg.from_text('[auth]\naccept = ["dkim", "smoke-signals"]\n')

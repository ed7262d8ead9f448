"""The daemon's log: dated plain lines by default, JSON lines on request, naming the mail and the case."""
from __future__ import annotations

import json
import re

import pytest

from daemon.cli import main
from tests.support import config_text, mail


@pytest.fixture
def configured(tmp_path):
    def write(style: str):
        path = tmp_path / f"{style}.toml"
        path.write_text(config_text(f"sqlite:///{tmp_path / 'canceldesk.db'}",
                                    extra=f'[logging]\nformat = "{style}"\n'))
        (tmp_path / "request.eml").write_bytes(mail(message_id=f"<{style}-1@client.example>",
                                                    body="Please cancel all our services.\n"))
        return path
    return write


def test_json_lines_carry_the_message_id_and_the_case(configured, tmp_path, capsys):
    assert main(["--config", str(configured("json")), "replay", str(tmp_path / "request.eml")]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert lines and all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$", line["at"]) for line in lines)
    about_the_mail = [line for line in lines if line.get("message_id") == "<json-1@client.example>"]
    assert any(re.fullmatch(r"CX-\d{4}-0001", line.get("case", "")) for line in about_the_mail)
    assert all("case" in line or "message_id" in line for line in lines), lines
    assert {line["level"] for line in lines} <= {"INFO", "WARNING"}


def test_text_lines_are_dated_plain_words(configured, tmp_path, capsys):
    assert main(["--config", str(configured("text")), "replay", str(tmp_path / "request.eml")]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert lines and all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (INFO|WARNING) ", line) for line in lines)
    assert any("<text-1@client.example>" in line and "CX-" in line for line in lines)

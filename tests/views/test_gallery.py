"""The template gallery: every mail for each kind and language, and docs/mail/ is its current output."""
from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

import pytest

from daemon.cli import gallery
from daemon.cli.gallery_requests import KINDS
from daemon.mail.rendering import CUSTOMER_TEMPLATES
from parsers.language import LANGUAGES

DOCS_MAIL = Path(__file__).resolve().parents[2] / "docs" / "mail"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("gallery")
    return out, gallery.build(out)


def test_every_customer_template_for_each_kind_and_language_and_the_staff_ones(built):
    out, entries = built
    for kind in KINDS:
        for language in LANGUAGES:
            assert {e.name for e in entries if (e.kind, e.language) == (kind, language)} == set(CUSTOMER_TEMPLATES)
        assert {e.name for e in entries if (e.kind, e.language) == (kind, "staff")} >= {"team_notice", "approval_request"}
    index = (out / "index.html").read_text(encoding="utf-8")
    for entry in entries:
        assert (out / f"{entry.path}.eml").is_file() and (out / f"{entry.path}.html").is_file()
        assert f'href="{entry.path}.html"' in index


def test_the_mails_read_in_a_mail_client(built):
    out, _ = built
    summary = message_from_bytes((out / "pause/de/customer_summary.eml").read_bytes(), policy=policy.default)
    assert summary["Subject"] == "Zusammenfassung Ihrer Pausierung [CX-2026-0001]"
    assert "SEO: pausiert bis 1. März 2027" in summary.get_content()
    assert summary["In-Reply-To"] == "<request.pause.de@acme.example>"
    page = (out / "pause/de/customer_summary.html").read_text(encoding="utf-8")
    assert "pausiert bis 1. März 2027" in page and "<pre>" in page
    # Stable bytes: a fixed boundary, not a random one, in the one mail with an HTML part.
    assert gallery.BOUNDARY.encode() in (out / "cancel/en/acknowledgment.eml").read_bytes()


def test_docs_mail_is_the_gallery_as_the_templates_write_it_now(built):
    """Regenerate with: canceldesk templates gallery docs/mail"""
    out, _ = built
    fresh = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    committed = {p.relative_to(DOCS_MAIL): p.read_bytes() for p in sorted(DOCS_MAIL.rglob("*")) if p.is_file()}
    assert sorted(map(str, committed)) == sorted(map(str, fresh)), "docs/mail lists other mails: regenerate it"
    stale = [str(path) for path, data in fresh.items() if committed[path] != data]
    assert not stale, f"docs/mail is stale ({len(stale)} files, e.g. {stale[:3]}): run canceldesk templates gallery docs/mail"

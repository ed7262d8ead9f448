"""Thinning a large mail in pieces, with markers: the parser gets what it gets from the mail itself."""
from __future__ import annotations

import base64
import random

import pytest

from parsers import blobs
from parsers.message import parse_message


def _with_attachment(megabytes: float, *, crlf: bool = True) -> bytes:
    from email.message import EmailMessage

    msg = EmailMessage()
    msg['From'], msg['To'], msg['Subject'] = 'Jane Doe <jane@acme.example>', 'cancel@agency.example', 'Cancel'
    msg['Message-ID'] = '<big@acme.example>'
    msg.set_content('Please cancel our account; the signed form is attached.\n')
    blob = random.Random(7).randbytes(int(megabytes * 1024 * 1024 * 3 / 4))
    msg.add_attachment(blob, maintype='application', subtype='pdf', filename='form.pdf')
    msg.add_attachment(b'BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nEND:VCALENDAR\r\n', maintype='text', subtype='calendar')
    raw = msg.as_bytes()
    return raw.replace(b'\n', b'\r\n') if crlf else raw


def _thinned_in_pieces(raw: bytes, size: int) -> tuple[bytes, int]:
    thinner = blobs.Thinner(mark=True)
    for start in range(0, len(raw), size):
        thinner.feed(raw[start:start + size])
    return thinner.finish()


@pytest.mark.parametrize('crlf', [True, False])
@pytest.mark.parametrize('size', [1000, 65_536, 1 << 20])
def test_thinning_in_pieces_cuts_what_thin_cuts(crlf, size):
    raw = _with_attachment(3, crlf=crlf)
    thinned, left_out = blobs.thin(raw)
    marked, marked_out = _thinned_in_pieces(raw, size)
    assert left_out > 2_000_000 and marked_out == left_out
    assert blobs.unmark(marked) == (thinned, left_out)
    assert b'bytes of encoded attachment left out here]' + (b'\r\n' if crlf else b'\n') in marked


def test_a_run_that_ends_the_mail_is_cut_and_marked_too():
    lines = base64.encodebytes(random.Random(3).randbytes(1_200_000))
    raw = b'Subject: bare\n\n' + lines.rstrip(b'\n')
    thinned, left_out = blobs.thin(raw)
    marked, marked_out = _thinned_in_pieces(raw, 4096)
    assert left_out and blobs.unmark(marked) == (thinned, left_out) == (thinned, marked_out)


def test_a_marked_copy_is_parsed_as_the_mail_itself():
    raw = _with_attachment(3)
    marked, _ = _thinned_in_pieces(raw, 1 << 20)
    assert len(marked) < 200_000
    assert parse_message(marked) == parse_message(raw)
    assert blobs.thin(blobs.unmark(marked)[0])[1] == 0  # cut once, never again


def test_unmark_leaves_a_mail_without_markers_alone():
    raw = _with_attachment(0.01)
    assert blobs.unmark(raw) == (raw, 0)

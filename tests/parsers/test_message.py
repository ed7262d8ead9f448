"""parse_message on scenario fixtures written for this project (tests/fixtures/mail)."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from parsers.message import Address, ParsedMessage, parse_message

MAIL = Path(__file__).resolve().parents[1] / 'fixtures' / 'mail'


def load(name: str) -> ParsedMessage:
    return parse_message((MAIL / name).read_bytes())


def test_gmail_reply_above_quote() -> None:
    msg = load('gmail_reply_above_quote.eml')
    assert msg.new_text == 'Hi,\n\nPlease cancel SEO and PPC at the end of March. Social stays.'
    assert msg.from_ == Address('Jane Customer', 'jane.customer@gmail.example')
    assert msg.to == (Address('Cancellation Desk', 'cancel+k7q2m9@agency.example'),)
    assert msg.message_id == '<CAF=abc123@mail.gmail.example>'
    assert msg.in_reply_to == ('<case-42.1@agency.example>',)
    assert msg.references == ('<case-41.1@agency.example>', '<case-42.1@agency.example>')
    assert msg.date == datetime(2026, 11, 10, 8, 15, 2, tzinfo=timezone.utc)
    assert msg.return_path == 'jane.customer@gmail.example'
    assert 'Dear Jane' in msg.text and 'Dear Jane' not in msg.new_text


@pytest.mark.parametrize('name, new_text', [
    ('outlook_reply_from_sent_block.eml',
     'We would like to terminate our contract effective 31/12/2026.\n\nRegards\nTom Miller'),
    ('apple_mail_reply.eml', 'Can we pause everything for two months instead?\n\nAnna'),
    ('iphone_sent_from_my_iphone.eml', "Please disregard my cancellation, we'd like to stay."),
    ('thunderbird_reply.eml', 'We need to reduce the budget for Content from January.'),
    ('german_cancellation.eml',
     'Sehr geehrte Damen und Herren,\n\nhiermit möchten wir unseren Vertrag für SEO zum 31.03.2027 kündigen.'),
    ('french_cancellation.eml',
     'Bonjour,\n\nNous souhaitons résilier notre contrat pour le référencement à la fin mars.'),
    ('spanish_cancellation.eml', 'Hola,\n\nqueremos cancelar el servicio de PPC a partir del 31 de diciembre.'),
    ('dutch_cancellation.eml', 'Goedemiddag,\n\nWij willen ons contract voor Social opzeggen per eind maart.'),
])
def test_new_text_without_quote_and_signature(name: str, new_text: str) -> None:
    assert load(name).new_text == new_text


def test_html_only_message_becomes_readable_text() -> None:
    msg = load('html_only_reply.eml')
    assert 'we want to cancel our contract for Social – thank you' in msg.text
    assert '<p>' not in msg.text and 'https://' not in msg.text
    assert 'Earlier' not in msg.new_text  # the blockquote is quoted material


def test_gmail_inline_forward() -> None:
    msg = load('gmail_forward_inline.eml')
    assert msg.new_text == 'Customer wrote to me directly, please handle.'
    (fwd,) = msg.forwarded
    assert fwd.from_ == Address('Klaus Kunde', 'klaus@kunde-gmbh.example')
    assert fwd.subject == 'Kündigung'
    assert fwd.date == datetime(2026, 11, 15, 20, 45, tzinfo=timezone.utc)
    assert fwd.text.startswith('Hallo Sam,\n\nhiermit kündigen wir SEO zum Ende März.')
    assert fwd.source == 'inline'


def test_outlook_inline_forward() -> None:
    (fwd,) = load('outlook_forward_inline.eml').forwarded
    assert fwd.from_.addr == 'paula@price-shop.example'
    assert fwd.subject == 'Stop our service'
    assert fwd.text == 'Please stop our service at the end of the month.\nPaula'


def test_outlook_reply_block_is_not_a_forward() -> None:
    assert load('outlook_reply_from_sent_block.eml').forwarded == ()


def test_forward_as_rfc822_attachment() -> None:
    msg = load('forward_as_rfc822_attachment.eml')
    (fwd,) = msg.forwarded
    assert fwd.from_ == Address('Renée Dupont', 'renee@dupont-sarl.example')
    assert fwd.subject == 'Cancellation request'
    assert fwd.text == 'Please cancel PPC on 2026-12-31.'
    assert fwd.source == 'attachment'
    assert msg.attachments[0].content_type == 'message/rfc822'
    assert msg.attachments[0].filename == 'Cancellation request.eml'
    assert msg.new_text == 'See attached.'


def test_rfc2047_subject_and_from() -> None:
    msg = load('french_cancellation.eml')
    assert msg.subject == 'Résiliation de notre contrat'
    assert msg.from_ == Address('Clémence Martin', 'clemence@martin-fleurs.example')
    assert load('german_cancellation.eml').from_.name == 'Jürgen Müller'


def test_display_name_that_looks_like_an_address_never_counts() -> None:
    msg = load('display_name_looks_like_address.eml')
    assert msg.from_ == Address('alice@staff.example', 'mallory@evil.example')
    assert msg.reply_to == (Address('', 'alice@staff.example'),)


def test_calendar_reply_lands_in_calendar_parts() -> None:
    msg = load('calendar_reply_itip.eml')
    assert len(msg.calendar_parts) == 1 and 'METHOD:REPLY' in msg.calendar_parts[0]
    assert msg.text == 'Jane Customer has accepted this invitation.'


def test_odd_charsets_decode_and_are_reported() -> None:
    msg = load('odd_charsets_8bit_headers.eml')
    assert msg.subject.startswith('café 8-bit été')
    assert msg.from_ == Address('Zéé', 'zee@odd.example')
    assert msg.message_id == '<bare-id@odd.example>'
    assert msg.date is None
    assert 'We want to cancel éverything.' in msg.text
    assert msg.attachments[0].filename == 'Kündigung Vertrag.pdf'
    assert "unknown charset 'x-no-such-charset', decoded by guess" in msg.defects
    assert 'unparseable Date header' in msg.defects
    assert any('boundary' in d for d in msg.defects)


def test_headers_are_immutable_and_decoded() -> None:
    msg = load('french_cancellation.eml')
    assert msg.headers['subject'] == ('Résiliation de notre contrat',)
    assert msg.get('SUBJECT') == 'Résiliation de notre contrat'
    with pytest.raises(TypeError):
        msg.headers['x'] = ('y',)  # type: ignore[index]


def test_null_return_path_and_absent_return_path() -> None:
    assert load('out_of_office_auto_reply.eml').return_path == ''
    assert load('noreply_sender.eml').return_path is None


@pytest.mark.parametrize('raw', [b'', b'\x00\xff\xfe garbage', b'From: \n\n', b'Content-Type: multipart/mixed\n\nno boundary',
                                 b'Subject: =?utf-8?b?broken\n\n', 'Subject: \udcff'.encode('utf-8', 'surrogatepass')])
def test_garbage_never_raises(raw: bytes) -> None:
    msg = parse_message(raw)
    assert isinstance(msg, ParsedMessage)
    assert 'missing From header' in msg.defects or 'From header has no usable address' in msg.defects


def test_not_bytes_still_does_not_raise() -> None:
    msg = parse_message(object())  # type: ignore[arg-type]
    assert msg.defects and msg.defects[0].startswith('unparseable message')


@pytest.mark.parametrize('from_header', [
    'amy@agency.example <evil@x.example>',  # unquoted: two mailboxes, neither is Amy for sure
    '=?utf-8?q?=5Fvictim@target.example=0D=0A?= <jane@acme.example>',  # an encoded CR/LF
    'jane@acme.example, bob@acme.example',
], ids=['unquoted-address-as-name', 'encoded-crlf', 'two-mailboxes'])
def test_an_invalid_or_ambiguous_from_is_no_usable_sender(from_header) -> None:
    raw = f'From: {from_header}\r\nTo: cancel@agency.example\r\nSubject: x\r\n\r\n#withdrawn\r\n'.encode()
    msg = parse_message(raw)
    assert msg.from_ is None or msg.from_.addr == ''
    assert 'From header has no usable address' in msg.defects


def test_an_encoded_name_is_decoded_as_a_name_never_as_an_address() -> None:
    raw = (b'From: =?utf-8?b?QW15IDxhbXlAYWdlbmN5LmV4YW1wbGU+?= <mallory@evil.example>\r\n'
           b'Subject: x\r\n\r\nhi\r\n')
    assert parse_message(raw).from_.addr == 'mallory@evil.example'
    raw = b'From: =?utf-8?q?M=C3=BCller,_Hans?= <hans@kunde.example>\r\nSubject: x\r\n\r\nhi\r\n'
    assert parse_message(raw).from_ == Address('Müller, Hans', 'hans@kunde.example')


def _with_big_attachment(megabytes: int = 25) -> bytes:
    from email.message import EmailMessage

    msg = EmailMessage()
    msg['From'], msg['To'], msg['Subject'] = 'Jane Doe <jane@acme.example>', 'cancel@agency.example', 'Cancel'
    msg['Message-ID'] = '<big@acme.example>'
    msg.set_content('Please cancel our account; the signed form is attached.\n')
    msg.add_attachment(bytes(range(256)) * (megabytes * 1024 * 1024 * 3 // 4 // 256), maintype='application',
                       subtype='pdf', filename='form.pdf')
    msg.add_attachment(b'BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nEND:VCALENDAR\r\n', maintype='text', subtype='calendar')
    return msg.as_bytes()


def test_a_large_attachment_is_read_as_its_head_and_everything_around_it_is_kept(monkeypatch) -> None:
    """Bounded work: the stdlib parser (about 8 copies of what it gets) is handed the mail without the blob."""
    import parsers.message as message_module

    handed: list[int] = []
    real = message_module.message_from_bytes
    monkeypatch.setattr(message_module, 'message_from_bytes', lambda data, **kw: (handed.append(len(data)), real(data, **kw))[1])
    raw = _with_big_attachment()
    parsed = parse_message(raw)
    assert handed and max(handed) < 1_000_000 < len(raw)
    assert parsed.text.startswith('Please cancel our account')
    assert [a.filename for a in parsed.attachments] == ['form.pdf'] and len(parsed.calendar_parts) == 1
    assert any(d.endswith('bytes of encoded attachments not read') for d in parsed.defects)
    assert parsed.message_id == '<big@acme.example>'


def test_a_small_mail_is_parsed_as_it_is() -> None:
    from parsers.blobs import thin

    raw = _with_big_attachment(megabytes=0) + b'x' * 1000
    assert thin(raw) == (raw, 0)


def test_the_message_key_reads_the_header_block_only(monkeypatch) -> None:
    from email.parser import BytesHeaderParser

    from daemon.intake.store import message_key

    handed: list[int] = []
    real = BytesHeaderParser.parsebytes
    monkeypatch.setattr(BytesHeaderParser, 'parsebytes', lambda self, data, *a: (handed.append(len(data)), real(self, data, *a))[1])
    assert message_key(_with_big_attachment()) == '<big@acme.example>'
    assert handed and max(handed) < 2000

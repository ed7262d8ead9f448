"""Staff command lines, case references and plus-addressed reply addresses."""
from __future__ import annotations

import pytest

from parsers.commands import CommandLine, scan_commands
from parsers.references import find_case_references, make_reply_address, token_from_address


def test_scan_commands() -> None:
    scan = scan_commands('Hi desk,\n  #Cancel Social, Content on 2026-12-31\n#note: called them\n'
                         '# heading\n#42 is not a command\n\n#help\nThanks')
    assert scan.commands == (
        CommandLine('cancel', 'Social, Content on 2026-12-31', '#Cancel Social, Content on 2026-12-31'),
        CommandLine('note', 'called them', '#note: called them'),
        CommandLine('help', '', '#help'),
    )
    assert scan.ignored == ('Hi desk,', '# heading', '#42 is not a command', 'Thanks')


def test_scan_commands_empty() -> None:
    assert scan_commands('') == type(scan_commands(''))((), ())


def test_case_references() -> None:
    text = 'Re: cx-2026-0042 and CX 2026-0042, also CX-2027-1001; not XCX-2026-0001 or CX-2026-12'
    assert find_case_references(text) == ('CX-2026-0042', 'CX-2027-1001')
    assert find_case_references('Ticket AB-2026-0001', prefix='ab') == ('AB-2026-0001',)


def test_reply_address_round_trip() -> None:
    address = make_reply_address('cancel', 'agency.example', 'k7q2m9')
    assert address == 'cancel+k7q2m9@agency.example'
    assert token_from_address(address, 'cancel') == 'k7q2m9'
    assert token_from_address('Desk <Cancel+k7q2m9@Agency.example>', 'cancel', 'agency.example') == 'k7q2m9'


@pytest.mark.parametrize('addr', ['cancel@agency.example', 'other+k7@agency.example', 'cancel+@agency.example',
                                  'not an address', ''])
def test_token_from_address_none_when_not_ours(addr: str) -> None:
    assert token_from_address(addr, 'cancel') is None


def test_token_from_address_checks_domain_when_given() -> None:
    assert token_from_address('cancel+k7@evil.example', 'cancel', 'agency.example') is None


def test_make_reply_address_rejects_bad_tokens() -> None:
    with pytest.raises(ValueError):
        make_reply_address('cancel', 'agency.example', 'a b@c')


def test_defused_lines_never_parse_as_commands():
    from parsers.commands import defuse, parse_command

    text = "Hello\n#withdrawn they stay\n   #cancel SEO on 2026-12-31\n# heading\nsee #help"
    defused = defuse(text)
    assert [line for line in defused.split("\n") if parse_command(line)] == []
    assert '   "#cancel SEO on 2026-12-31"' in defused and "# heading" in defused


def test_own_commands_stop_at_a_header_block_in_any_language():
    from parsers.commands import own_commands

    body = ("#note called them\n\nLähettäjä: Tom <tom@agency.example>\nLähetetty: 23. marraskuuta 2026 10.12\n"
            "Vastaanottaja: Desk <cancel@agency.example>\nAihe: VS: Request\n\n#withdrawn no\n")
    own = own_commands(body)
    assert [c.name for c in own.commands] == ["note"]
    assert [c.name for c in own.below] == ["withdrawn"]
    assert own.boundary.startswith("Lähettäjä:")

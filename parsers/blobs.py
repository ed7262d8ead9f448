"""Parse stage, size: what the stdlib parser is given of a large mail.

The stdlib `email` parser holds several copies of what it parses (the text, its lines,
each payload joined again): a 25 MB mail costs about 200 MB. What the desk reads of a
mail is its headers, its text (at most `body.MAX_TEXT_CHARS`) and small parts (calendar
replies, delivery reports, forwarded mail); of a large attachment only that it is there.
So above `THIN_ABOVE` bytes, every long run of base64 lines (an encoded attachment) is
cut to its first `KEEP_LINES` lines before parsing; the MIME structure around it, and
every part after it, stay as they were.
"""

from __future__ import annotations

import re

THIN_ABOVE = 1_000_000
# 1,500 lines of 76 characters: 114 KB of base64, 85 KB decoded, more than the HTML a body
# part is cut to before conversion (4 x MAX_TEXT_CHARS), so a base64 HTML body reads as before.
KEEP_LINES = 1_500
_BASE64_LINE = re.compile(rb"[A-Za-z0-9+/]{16,998}={0,2}\r?\n?")


def header_block(raw: bytes) -> bytes:
    """The header block (up to the first empty line): all a header parser needs, at a header's cost."""
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    if not ends:
        return raw
    end = min(ends)
    return raw[: end + (4 if raw.startswith(b"\r\n\r\n", end) else 2)]


def thin(raw: bytes) -> tuple[bytes, int]:
    """(`raw` with each long base64 run cut to its head, the number of bytes left out)."""
    if len(raw) <= THIN_ABOVE:
        return raw, 0
    kept: list[bytes] = []
    left_out = 0
    start = run_start = 0  # start of the next line; where the current base64 run began
    run_lines = 0
    size = len(raw)
    while start < size:
        end = raw.find(b"\n", start)
        end = size if end < 0 else end + 1
        if _BASE64_LINE.fullmatch(raw, start, end):
            if run_lines == 0:
                run_start = start
            run_lines += 1
            if run_lines == KEEP_LINES:
                kept.append(raw[run_start:end])
            elif run_lines > KEEP_LINES:
                left_out += end - start
        else:
            if 0 < run_lines < KEEP_LINES:
                kept.append(raw[run_start:start])
            run_lines = 0
            kept.append(raw[start:end])
        start = end
    if 0 < run_lines < KEEP_LINES:
        kept.append(raw[run_start:size])
    return (b"".join(kept), left_out) if left_out else (raw, 0)

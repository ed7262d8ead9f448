"""Parse stage, size: what the stdlib parser is given of a large mail.

The stdlib `email` parser holds several copies of what it parses (the text, its lines,
each payload joined again): a 25 MB mail costs about 200 MB. What the desk reads of a
mail is its headers, its text (at most `body.MAX_TEXT_CHARS`) and small parts (calendar
replies, delivery reports, forwarded mail); of a large attachment only that it is there.
So above `THIN_ABOVE` bytes, every long run of base64 lines (an encoded attachment) is
cut to its first `KEEP_LINES` lines before parsing; the MIME structure around it, and
every part after it, stay as they were.

`Thinner` does the same piece by piece, for a mail read in slices that is never whole in
memory, and can leave a marker line where it cut saying how much it left out. `unmark`
takes the markers out again and adds up what they say: a marked copy then reaches the
parser as the same bytes, with the same count of bytes not read, as the mail itself.
"""

from __future__ import annotations

import re

THIN_ABOVE = 1_000_000
# 1,500 lines of 76 characters: 114 KB of base64, 85 KB decoded, more than the HTML a body
# part is cut to before conversion (4 x MAX_TEXT_CHARS), so a base64 HTML body reads as before.
KEEP_LINES = 1_500
_BASE64_LINE = re.compile(rb"[A-Za-z0-9+/]{16,998}={0,2}\r?\n?")
# Not base64 (brackets, spaces), so a marked copy cut again is left as it is.
MARKER = b"[canceldesk: %d bytes of encoded attachment left out here]"
_MARKER_LINE = re.compile(rb"^\[canceldesk: (\d+) bytes of encoded attachment left out here\]\r?\n", re.MULTILINE)


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
    thinner = Thinner()
    thinner.feed(raw)
    thinned, left_out = thinner.finish()
    return (thinned, left_out) if left_out else (raw, 0)


def marked(raw: bytes) -> bool:
    """Whether `raw` may hold `Thinner`'s marker lines: a copy, not the mail itself."""
    return b"[canceldesk: " in raw


def unmark(raw: bytes) -> tuple[bytes, int]:
    """(`raw` without `Thinner`'s marker lines, the bytes they say were left out)."""
    if not marked(raw):
        return raw, 0
    left_out = sum(int(count) for count in _MARKER_LINE.findall(raw))
    return (_MARKER_LINE.sub(b"", raw), left_out) if left_out else (raw, 0)


class Thinner:
    """`thin` over a mail given in pieces: `feed` each in order, then `finish`.

    Holds only what it keeps (the line being read, and up to KEEP_LINES lines of the
    current base64 run), never the lines it leaves out. With `mark`, a marker line (see
    `unmark`) follows each run it cut.
    """

    def __init__(self, *, mark: bool = False) -> None:
        self.mark = mark
        self.left_out = 0
        self._kept: list[bytes] = []
        self._run: list[bytes] = []  # the current base64 run's first lines, while it lasts
        self._run_lines = 0
        self._run_cut = 0  # bytes of the current run left out
        self._eol = b"\n"  # the current run's line ending, for its marker
        self._partial = b""  # a line not yet ended by the last piece

    def feed(self, piece: bytes) -> None:
        data = self._partial + piece if self._partial else piece
        start, size = 0, len(data)
        while (end := data.find(b"\n", start)) >= 0:
            self._line(data, start, end + 1)
            start = end + 1
        self._partial = data[start:size] if start < size else b""

    def finish(self) -> tuple[bytes, int]:
        """(what was kept, the number of bytes left out); the thinner is spent."""
        if self._partial:
            self._line(self._partial, 0, len(self._partial))
            self._partial = b""
        self._end_run()
        kept, self._kept = b"".join(self._kept), []
        return kept, self.left_out

    def _line(self, data: bytes, start: int, end: int) -> None:
        if not _BASE64_LINE.fullmatch(data, start, end):
            self._end_run()
            self._kept.append(data[start:end])
            return
        self._run_lines += 1
        if self._run_lines <= KEEP_LINES:
            self._run.append(data[start:end])
            if self._run_lines == KEEP_LINES:
                self._eol = b"\r\n" if data.endswith(b"\r\n", start, end) else b"\n"
                self._kept += self._run
                self._run = []
        else:
            self._run_cut += end - start

    def _end_run(self) -> None:
        self._kept += self._run
        if self._run_cut:
            self.left_out += self._run_cut
            if self.mark:
                self._kept.append(MARKER % self._run_cut + self._eol)
        self._run, self._run_lines, self._run_cut = [], 0, 0

"""Plain-text mail bodies as a reader sees them: wrapped for reading, no stray blank lines.

Templates are written by hand and filled with names, dates and lists of any length, so a
line can come out long. Each paragraph with a line over the limit is wrapped again at about
72 characters; a list item ("- ", "  - ", "1. ") keeps its marker and its hanging indent.
Short lines are never joined (a signature, an address block, a greeting keep their shape),
nor are the fields of a form ("Received:  ...", one a line); quoted text ("> ") and
indented blocks stay exactly as written. Runs of blank lines become one, and the body
neither starts nor ends with one.
"""

from __future__ import annotations

import re
import textwrap

WIDTH = 72
# A line longer than this is wrapped; below it hand-wrapped templates are left alone.
LIMIT = 78
_ITEM = re.compile(r"^(\s*)([-*•]|\d+[.)])\s+")
# A field of a form ("Received:     Monday, ...", "Outcome: lost"): a capitalised label of up
# to four words, a colon, its value. Fields are a table, never one paragraph: a long one
# wraps alone, under its value. Only where a paragraph holds two fields or more: prose
# that happens to have a colon early in a line is wrapped as prose.
_FIELD = re.compile(r"^[A-ZÀ-Þ][^\W\d_]*(?: [^\W\d_()/'-]+| \([^)]*\)){0,3}:(?: +(?=\S)|$)")


def tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.strip("\n").splitlines()]
    blocks: list[list[str]] = []
    for line in lines:
        if not line:
            if blocks and blocks[-1]:
                blocks.append([])
            continue
        if not blocks:
            blocks.append([])
        blocks[-1].append(line)
    out: list[str] = []
    for block in blocks:
        if block:
            out.extend(_wrap_block(block))
        out.append("")
    return "\n".join(out).strip("\n") + "\n"


def _wrap_block(block: list[str]) -> list[str]:
    """A paragraph between blank lines: its items and runs of text, each wrapped if too long."""
    if all(len(line) <= LIMIT for line in block):
        return block  # most paragraphs: nothing to wrap, no need to tell items from text
    out: list[str] = []
    for run, first, rest in _runs(block):
        if any(len(line) > LIMIT for line in run) and first is not None:
            words = " ".join(line.strip() for line in run)
            words = words[len(first.lstrip()) :] if _ITEM.match(run[0]) else words
            out.extend(
                _keep_commands_inside(
                    textwrap.wrap(
                        words.strip(),
                        WIDTH,
                        initial_indent=first,
                        subsequent_indent=rest,
                        break_long_words=False,
                        break_on_hyphens=False,
                    )
                )
            )
        else:
            out.extend(run)
    return out


def _keep_commands_inside(lines: list[str]) -> list[str]:
    """No wrapped line starts with '#': a line that does reads as a command (and is shown
    defused, in quotes), so the word before it comes down with it."""
    for i in range(1, len(lines)):
        head, _, word = lines[i - 1].rpartition(" ")
        if lines[i].lstrip().startswith("#") and head.strip():
            indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
            lines[i - 1], lines[i] = head, f"{indent}{word} {lines[i].lstrip()}"
    return lines


def _runs(block: list[str]):
    """(lines, marker-or-indent, hanging indent): list items with their continuation lines,
    text lines of one indent; quoted lines as they are (None: never wrapped)."""
    form = sum(bool(_FIELD.match(line)) for line in block) >= 2
    i = 0
    while i < len(block):
        line = block[i]
        if line.startswith(">"):
            yield [line], None, ""
            i += 1
            continue
        item = _ITEM.match(line)
        if item:
            marker, hang = item.group(0), " " * len(item.group(0))
            j = i + 1
            while j < len(block) and block[j].startswith(hang) and not _ITEM.match(block[j]) and block[j].strip():
                j += 1
            yield block[i:j], marker, hang
            i = j
            continue
        field = _FIELD.match(line) if form else None
        if field:
            width = len(field.group(0))
            yield [line], "", " " * (width if width <= 32 else 4)
            i += 1
            continue
        indent = line[: len(line) - len(line.lstrip())]
        j = i + 1
        while (
            j < len(block)
            and not _ITEM.match(block[j])
            and not (form and _FIELD.match(block[j]))
            and not block[j].startswith(">")
            and block[j][: len(block[j]) - len(block[j].lstrip())] == indent
        ):
            j += 1
        # An indented block (a time on its own line, a table) is shown as written.
        yield block[i:j], (None if indent else ""), indent
        i = j

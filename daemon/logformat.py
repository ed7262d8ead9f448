"""How the daemon's log reads: dated lines in plain words, or one JSON object a line.

`[logging] format = "text"` (the default) is for a person reading journalctl; `"json"` is
for a log collector. A JSON line carries, beside the words, the case reference and the
Message-ID the line is about, as fields a collector can search: taken from the record's
`case` / `message_id` attributes when the caller gave them (`extra=`), else found in the
words themselves, since the desk's log lines name them there.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

CASE_REFERENCE = re.compile(r"\b[A-Z]{1,10}-\d{4}-\d{4,}\b")
MESSAGE_ID = re.compile(r"<[^<>\s@]+@[^<>\s]+>")
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        words = record.getMessage()
        line = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": words,
            "case": getattr(record, "case", None) or _first(CASE_REFERENCE, words),
            "message_id": getattr(record, "message_id", None) or _first(MESSAGE_ID, words),
        }
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps({k: v for k, v in line.items() if v is not None}, ensure_ascii=False)


def _first(pattern: re.Pattern, text: str) -> str | None:
    found = pattern.search(text)
    return found.group(0) if found else None


def formatter(style: str) -> logging.Formatter:
    return JsonFormatter() if style == "json" else logging.Formatter(TEXT_FORMAT, DATE_FORMAT)


def configure(level: str, style: str = "text") -> None:
    """The root logger at `level`, writing to stderr in `style` ("text" or "json")."""
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(style))
    logging.basicConfig(level=getattr(logging, level), handlers=[handler], force=True)
    # Libraries' chatter at INFO is not what an operator needs to read.
    for noisy in ("alembic", "apscheduler", "imapclient", "urllib3", "mail-parser", "mailparser", "flufl.bounce"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

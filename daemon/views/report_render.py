"""The reasons report written out: terminal tables, CSV files, and one self-contained HTML page.

The HTML page carries its styles and charts inline (SVG drawn here, no script, no fonts or
images fetched), so a manager can open the attachment of the weekly digest offline.
Every chart bar carries its figure in `data-value`, which the browser test reads.
"""

from __future__ import annotations

import csv
import html
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from daemon.mail.style import Style
from daemon.tables import cell, table
from daemon.views.report import OUTCOMES, Report

LABELS = {"partially_saved": "partially saved", "undecided": "in progress"}
COLOURS = {
    "saved": "#2e7d32",
    "partially_saved": "#81c784",
    "paused": "#1e88e5",
    "changed": "#8e24aa",
    "lost": "#c62828",
    "withdrawn": "#9e9e9e",
    "undecided": "#ffb300",
    "kept": "#2e7d32",
    "revenue_lost": "#c62828",
    "revenue_paused": "#1e88e5",
}

TABLES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "months": (
        "Requests and outcomes by month opened",
        [("month", "Month"), ("requests", "Requests"), ("cancel", "Cancel"), ("pause", "Pause"), ("change", "Change")]
        + [(o, LABELS.get(o, o).capitalize()) for o in OUTCOMES],
    ),
    "reasons": (
        "Reasons by category",
        [("category", "Category"), ("cases", "Cases"), ("saved", "Saved"), ("lost", "Lost")],
    ),
    "offers": (
        "Offers made, and whom they kept",
        [("offer", "Offer"), ("made", "Made"), ("accepted", "Accepted"), ("declined", "Declined"), ("saved", "Kept")],
    ),
    "revenue": (
        "Monthly revenue by month decided",
        [("month", "Month"), ("kept", "Kept"), ("lost", "Lost"), ("paused", "Paused")],
    ),
    "timings": (
        "Time from the customer's mail (hours)",
        [("to", "To"), ("cases", "Cases"), ("median_hours", "Median"), ("longest_hours", "Longest")],
    ),
    "chases": ("Reminders and escalations", [("timer", "Timer"), ("fired", "Fired"), ("cases", "Cases")]),
}


def headline_lines(report: Report) -> list[str]:
    h = report.headline()
    rate = f"{h['save_rate_percent']}%" if h["save_rate_percent"] is not None else "-"
    return [
        f"Requests: {h['requests']}   saved {h['saved']}, partially saved {h['partially_saved']}, "
        f"paused {h['paused']}, changed {h['changed']}, lost {h['lost']}, withdrawn {h['withdrawn']}, "
        f"in progress {h['undecided']}",
        f"Save rate (saved or partially saved, of those decided): {rate}",
        f"Monthly revenue kept {money(h['revenue_kept'], h['currency'])}, lost "
        f"{money(h['revenue_lost'], h['currency'])}, paused {money(h['revenue_paused'], h['currency'])}",
    ]


def money(amount: Decimal, currency: str) -> str:
    """'£3,200.00': as every mail the desk sends writes an amount (daemon.mail.style)."""
    return Style(currency=currency).money(amount)


def text(report: Report) -> str:
    parts = ["\n".join(headline_lines(report))]
    for name, (title, columns) in TABLES.items():
        rows = getattr(report, name)()
        parts.append(f"{title}\n{table(rows, columns, width=60) if rows else '(nothing yet)'}")
    return "\n\n".join(parts)


def write_csv(report: Report, folder: Path) -> list[Path]:
    """One CSV file per table (months.csv, reasons.csv ...), headed like the terminal tables."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (_, columns) in TABLES.items():
        path = folder / f"{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            out = csv.writer(f)
            out.writerow([heading for _, heading in columns])
            for row in getattr(report, name)():
                out.writerow([_csv_cell(row.get(key)) for key, _ in columns])
        written.append(path)
    return written


def _csv_cell(value: Any) -> str:
    text_value = "; ".join(value) if isinstance(value, list) else ("" if value is None else str(value))
    # A spreadsheet would run a cell starting with = + - @ as a formula: keep it text.
    return "'" + text_value if text_value[:1] in ("=", "+", "-", "@") else text_value


def html_page(report: Report, title: str = "Cancellations: what we learned") -> str:
    h = report.headline()
    charts = [_outcomes_chart(report), _reasons_chart(report), _revenue_chart(report)]
    tables = "".join(
        _html_table(name, title_, columns, getattr(report, name)()) for name, (title_, columns) in TABLES.items()
    )
    cards = "".join(
        f'<div class="card"><b>{html.escape(str(v))}</b><span>{html.escape(k)}</span></div>'
        for k, v in [
            ("requests", h["requests"]),
            ("saved", h["saved"] + h["partially_saved"]),
            ("lost", h["lost"]),
            ("save rate", f"{h['save_rate_percent']}%" if h["save_rate_percent"] is not None else "-"),
            (f"kept / month ({h['currency']})", f"{h['revenue_kept']:,.2f}"),
            (f"lost / month ({h['currency']})", f"{h['revenue_lost']:,.2f}"),
        ]
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{_CSS}</style></head>
<body><h1>{html.escape(title)}</h1>
<p class="when">As of {report.generated_at:%Y-%m-%d %H:%M} UTC</p>
<div class="cards">{cards}</div>
<div class="charts">{"".join(charts)}</div>
{tables}
</body></html>
"""


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}
h1{font-size:1.6em;margin-bottom:0}.when{color:#666;margin-top:.2em}
.cards{display:flex;gap:1em;flex-wrap:wrap;margin:1em 0}
.card{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;min-width:8em}
.card b{display:block;font-size:1.5em}.card span{color:#666;font-size:.85em}
.charts{display:flex;gap:1.5em;flex-wrap:wrap}figure{margin:0}figcaption{font-weight:600;margin-bottom:.3em}
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border-bottom:1px solid #eee;padding:.3em .7em;
text-align:left;white-space:nowrap}td.n{text-align:right}h2{font-size:1.15em;margin-top:1.5em}
.legend span{display:inline-block;margin-right:.8em;font-size:.8em}
.legend i{display:inline-block;width:.8em;height:.8em;margin-right:.3em;vertical-align:middle}"""


def _html_table(name: str, title: str, columns: Sequence[tuple[str, str]], rows: list[dict]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for _, h in columns)
    body = "".join("<tr>" + "".join(_html_cell(row.get(k)) for k, _ in columns) + "</tr>" for row in rows)
    empty = "" if rows else f'<tr><td colspan="{len(columns)}">nothing yet</td></tr>'
    return f'<h2>{html.escape(title)}</h2><table id="{name}"><tr>{head}</tr>{body}{empty}</table>'


def _html_cell(value: Any) -> str:
    numeric = isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)
    return f"<td{' class=n' if numeric else ''}>{html.escape(cell(value))}</td>"


def _legend(names: Sequence[str]) -> str:
    return (
        '<div class="legend">'
        + "".join(
            f'<span><i style="background:{COLOURS[n]}"></i>{html.escape(LABELS.get(n, n).replace("revenue_", ""))}'
            f"</span>"
            for n in names
        )
        + "</div>"
    )


def _outcomes_chart(report: Report) -> str:
    """Stacked columns: one per month, one colour per outcome."""
    months = report.months()
    peak = max((m["requests"] for m in months), default=0) or 1
    bars, width = [], 48
    for i, m in enumerate(months):
        x, y = 40 + i * (width + 20), 190
        for outcome in OUTCOMES:
            height = 160 * m[outcome] / peak
            if m[outcome]:
                y -= height
                bars.append(
                    f'<rect class="bar" x="{x}" y="{y:.1f}" width="{width}" height="{height:.1f}" '
                    f'fill="{COLOURS[outcome]}" data-value="{m[outcome]}">'
                    f"<title>{m['month']}: {m[outcome]} {LABELS.get(outcome, outcome)}</title></rect>"
                )
        bars.append(f'<text x="{x + width / 2}" y="205" font-size="11" text-anchor="middle">{m["month"]}</text>')
    return _figure("Outcomes by month", "outcomes", 40 + len(months) * (width + 20) + 20, bars, OUTCOMES)


def _reasons_chart(report: Report) -> str:
    """Horizontal bars: cases per reason category."""
    rows = report.reasons()
    peak = max((r["cases"] for r in rows), default=0) or 1
    bars = []
    for i, r in enumerate(rows):
        y, length = 10 + i * 26, 220 * r["cases"] / peak
        bars.append(
            f'<text x="135" y="{y + 14}" font-size="11" text-anchor="end">{html.escape(r["category"])}</text>'
            f'<rect class="bar" x="140" y="{y}" width="{length:.1f}" height="18" fill="#5c6bc0" '
            f'data-value="{r["cases"]}"><title>{html.escape(r["category"])}: {r["cases"]}</title></rect>'
            f'<text x="{145 + length:.1f}" y="{y + 14}" font-size="11">{r["cases"]}</text>'
        )
    return _figure("Reasons by category", "reasons", 400, bars, (), height=max(40, 20 + 26 * len(rows)))


def _revenue_chart(report: Report) -> str:
    """Grouped columns per month decided: revenue kept, lost and paused."""
    rows = report.revenue()
    keys = (("kept", "kept"), ("lost", "revenue_lost"), ("paused", "revenue_paused"))
    peak = max((float(r[k]) for r in rows for k, _ in keys), default=0) or 1
    bars, width = [], 18
    for i, r in enumerate(rows):
        x0 = 50 + i * (3 * width + 30)
        for j, (key, colour) in enumerate(keys):
            height = 160 * float(r[key]) / peak
            bars.append(
                f'<rect class="bar" x="{x0 + j * width}" y="{190 - height:.1f}" width="{width - 2}" '
                f'height="{height:.1f}" fill="{COLOURS[colour]}" data-value="{r[key]}">'
                f"<title>{r['month']}: {key} {money(r[key], report.currency)}</title></rect>"
            )
        bars.append(f'<text x="{x0 + 1.5 * width}" y="205" font-size="11" text-anchor="middle">{r["month"]}</text>')
    return _figure(
        f"Monthly revenue kept, lost and paused ({report.currency})",
        "revenue",
        50 + len(rows) * (3 * width + 30) + 20,
        bars,
        [c for _, c in keys],
    )


def _figure(caption: str, name: str, width: float, parts: list[str], legend: Sequence[str], height: int = 215) -> str:
    return (
        f'<figure id="chart-{name}"><figcaption>{html.escape(caption)}</figcaption>'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{max(width, 200):.0f}" height="{height}" '
        f'role="img" aria-label="{html.escape(caption)}">{"".join(parts)}</svg>'
        f"{_legend(legend) if legend else ''}</figure>"
    )

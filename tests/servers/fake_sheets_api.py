"""The Sheets v4 methods of the fake server, run on its in-memory spreadsheets.

`FakeSheetsServer` (fake_sheets.py) handles HTTP, the request log and the faults; this
module is what a request does once routed: `dispatch` runs one method under the
server's lock. Values written USER_ENTERED that start with '=' become `Formula` cells,
and, as at Google, a value write outside a worksheet's grid is refused.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from integrations.sheets.a1 import cell_ref, column_letter

if TYPE_CHECKING:
    from tests.servers.fake_sheets import FakeSheetsServer


_EPOCH = date(1899, 12, 30)   # day 0 of spreadsheet serial numbers


class Formula(str):
    """A cell holding a formula: only USER_ENTERED text starting with '=' becomes one."""


class ApiFailure(Exception):
    def __init__(self, code: int, message: str, status: str = "INVALID_ARGUMENT") -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class Worksheet:
    def __init__(self, sheet_id: int, title: str, index: int, rows: int, cols: int) -> None:
        self.props: dict[str, Any] = {
            "sheetId": sheet_id, "title": title, "index": index, "sheetType": "GRID",
            "gridProperties": {"rowCount": rows, "columnCount": cols},
        }
        self.cells: dict[tuple[int, int], Any] = {}
        # 0-based column -> numberFormat ({"type", "pattern"}) from repeatCell, and pixel widths.
        self.formats: dict[int, dict[str, str]] = {}
        self.widths: dict[int, int] = {}

    def rendered(self, row: int, col: int, value: Any, option: str, dates: str) -> Any:
        """A cell as the values API answers it: a date column's serial as its text when asked."""
        number_format = self.formats.get(col - 1, {}) if row > 1 else {}
        if number_format.get("type") == "DATE" and isinstance(value, (int, float)) and not isinstance(value, bool) \
                and (dates == "FORMATTED_STRING" or option == "FORMATTED_VALUE"):
            return (_EPOCH + timedelta(days=int(value))).isoformat()   # the only pattern used: yyyy-mm-dd
        return _render(value, option)

    @property
    def title(self) -> str:
        return self.props["title"]

    def extent(self) -> tuple[int, int]:
        rows = max((r for r, _ in self.cells), default=0)
        return rows, max((c for _, c in self.cells), default=0)

    def check_grid(self, last_row: int, last_col: int, a1: str) -> None:
        grid = self.props["gridProperties"]
        if last_row > grid["rowCount"] or last_col > grid["columnCount"]:
            raise ApiFailure(400, f"Range ({a1}) exceeds grid limits. Max rows: "
                             f"{grid['rowCount']}, max columns: {grid['columnCount']}")

    def read(self, r1: int, c1: int, r2: int, c2: int) -> list[list[Any]]:
        rows = [[self.cells.get((r, c), "") for c in range(c1, c2 + 1)] for r in range(r1, r2 + 1)]
        for row in rows:
            while row and row[-1] == "":
                row.pop()
        while rows and not rows[-1]:
            rows.pop()
        return rows

    def write(self, r1: int, c1: int, values: list[list[Any]], option: str) -> None:
        for dr, row in enumerate(values):
            for dc, value in enumerate(row):
                if value is None:
                    continue  # null leaves the cell as it is (Sheets semantics)
                stored = _entered(value) if option == "USER_ENTERED" else value
                if stored == "":
                    self.cells.pop((r1 + dr, c1 + dc), None)
                else:
                    self.cells[(r1 + dr, c1 + dc)] = stored


def _entered(value: Any) -> Any:
    """USER_ENTERED parsing, the parts that matter: formulas, quote prefix, numbers."""
    if not isinstance(value, str):
        return value
    if value.startswith("'"):
        return value[1:]
    if value.startswith("="):
        return Formula(value)
    try:
        return float(value)
    except ValueError:
        return {"TRUE": True, "FALSE": False}.get(value, value)


def _render(value: Any, option: str) -> Any:
    if option == "UNFORMATTED_VALUE" or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)



def parse_a1(fake: FakeSheetsServer, key: str, spec: str) -> tuple[Worksheet, int, int, int, int]:
    """'Sheet'!A2:G, Sheet!A1, 'Sheet', 1:1 ... -> (worksheet, r1, c1, r2, c2)."""
    if key not in fake.books:
        raise ApiFailure(404, "Requested entity was not found.", "NOT_FOUND")
    title, _, cells = spec.rpartition("!") if "!" in spec else (spec, "", "")
    if title.startswith("'") and title.endswith("'"):
        title = title[1:-1].replace("''", "'")
    if not cells and not any(s.title == title for s in fake.books[key]["sheets"]):
        title, cells = fake.books[key]["sheets"][0].title, spec
    sheet = fake.sheet(key, title)
    grid = sheet.props["gridProperties"]
    if not cells:
        return sheet, 1, 1, grid["rowCount"], grid["columnCount"]
    first, _, last = cells.partition(":")
    r1, c1 = cell_ref(first)
    r2, c2 = cell_ref(last) if last else (r1, c1)
    return (sheet, r1 or 1, c1 or 1, r2 or grid["rowCount"], c2 or grid["columnCount"])


def dispatch(fake: FakeSheetsServer, name: str, groups: list[str], params: dict, body: dict) -> Any:
    """Run one API method on the in-memory books (the caller holds the lock)."""
    key = groups[0]
    if key not in fake.books:
        raise ApiFailure(404, "Requested entity was not found.", "NOT_FOUND")
    return _HANDLERS[name](fake, key, groups[1:], params, body)


def _metadata(fake: FakeSheetsServer, key: str, _g: list, _p: dict, _b: dict) -> Any:
    book = fake.books[key]
    return {"spreadsheetId": key,
            "properties": {"title": book["title"], "locale": "en_US", "timeZone": "Etc/UTC"},
            "sheets": [{"properties": json.loads(json.dumps(s.props))} for s in book["sheets"]]}


def _get_range(fake: FakeSheetsServer, key: str, spec: str, params: dict) -> dict:
    sheet, r1, c1, r2, c2 = parse_a1(fake, key, spec)
    sheet.check_grid(r2, c2, spec)
    option = params.get("valueRenderOption") or "FORMATTED_VALUE"
    dates = params.get("dateTimeRenderOption") or "SERIAL_NUMBER"
    rows = [[sheet.rendered(r1 + dr, c1 + dc, v, option, dates) for dc, v in enumerate(row)]
            for dr, row in enumerate(sheet.read(r1, c1, r2, c2))]
    answer: dict[str, Any] = {"range": spec, "majorDimension": "ROWS"}
    if rows:
        answer["values"] = rows
    return answer


def _get(fake: FakeSheetsServer, key: str, groups: list, params: dict, _b: dict) -> Any:
    return _get_range(fake, key, groups[0], params)


def _batch_get(fake: FakeSheetsServer, key: str, _g: list, params: dict, body: dict) -> Any:
    ranges = body.get("ranges") or params.get("ranges") or []
    ranges = [ranges] if isinstance(ranges, str) else ranges
    return {"spreadsheetId": key, "valueRanges": [_get_range(fake, key, r, params) for r in ranges]}


def _put_range(fake: FakeSheetsServer, key: str, spec: str, values: list, option: str | None) -> dict:
    if option not in ("RAW", "USER_ENTERED"):
        raise ApiFailure(400, "Invalid valueInputOption")
    sheet, r1, c1, _, _ = parse_a1(fake, key, spec)
    width = max((len(v) for v in values), default=0)
    sheet.check_grid(r1 + len(values) - 1, c1 + width - 1, spec)
    sheet.write(r1, c1, values, option)
    return {"spreadsheetId": key, "updatedRange": spec, "updatedRows": len(values),
            "updatedColumns": width, "updatedCells": sum(len(v) for v in values)}


def _update(fake: FakeSheetsServer, key: str, groups: list, params: dict, body: dict) -> Any:
    return _put_range(fake, key, groups[0], body.get("values", []), params.get("valueInputOption"))


def _batch_update(fake: FakeSheetsServer, key: str, _g: list, _p: dict, body: dict) -> Any:
    option = body.get("valueInputOption")
    answers = [_put_range(fake, key, d["range"], d.get("values", []), option) for d in body.get("data", [])]
    return {"spreadsheetId": key, "totalUpdatedRows": sum(a["updatedRows"] for a in answers),
            "totalUpdatedCells": sum(a["updatedCells"] for a in answers), "responses": answers}


def _append(fake: FakeSheetsServer, key: str, groups: list, params: dict, body: dict) -> Any:
    sheet, _, c1, _, _ = parse_a1(fake, key, groups[0])
    values = body.get("values", [])
    grid = sheet.props["gridProperties"]
    start = sheet.extent()[0] + 1
    # Append inserts rows as needed (unlike a ranged update).
    grid["rowCount"] = max(grid["rowCount"], start + len(values) - 1)
    spec = f"'{sheet.title}'!{column_letter(c1)}{start}"
    return {"spreadsheetId": key, "tableRange": groups[0],
            "updates": _put_range(fake, key, spec, values, params.get("valueInputOption"))}


def _clear_range(fake: FakeSheetsServer, key: str, spec: str) -> str:
    sheet, r1, c1, r2, c2 = parse_a1(fake, key, spec)
    for cell in [rc for rc in sheet.cells if r1 <= rc[0] <= r2 and c1 <= rc[1] <= c2]:
        del sheet.cells[cell]
    return spec


def _clear(fake: FakeSheetsServer, key: str, groups: list, _p: dict, _b: dict) -> Any:
    return {"spreadsheetId": key, "clearedRange": _clear_range(fake, key, groups[0])}


def _batch_clear(fake: FakeSheetsServer, key: str, _g: list, _p: dict, body: dict) -> Any:
    return {"spreadsheetId": key,
            "clearedRanges": [_clear_range(fake, key, r) for r in body.get("ranges", [])]}


def _sheet_batch(fake: FakeSheetsServer, key: str, _g: list, _p: dict, body: dict) -> Any:
    replies: list[dict] = []
    for request in body.get("requests", []):
        if "addSheet" in request:
            props = request["addSheet"].get("properties", {})
            grid = props.get("gridProperties", {})
            sheet = fake.add_worksheet(key, props["title"], grid.get("rowCount", 1000),
                                       grid.get("columnCount", 26))
            replies.append({"addSheet": {"properties": sheet.props}})
        elif "updateSheetProperties" in request:
            props = request["updateSheetProperties"]["properties"]
            target = next(s for s in fake.books[key]["sheets"] if s.props["sheetId"] == props["sheetId"])
            target.props["gridProperties"].update(props.get("gridProperties", {}))
            target.props.update({k: v for k, v in props.items() if k in ("title", "index")})
            replies.append({})
        elif "repeatCell" in request:
            cells, target = request["repeatCell"]["range"], _by_id(fake, key, request["repeatCell"]["range"])
            number_format = request["repeatCell"]["cell"]["userEnteredFormat"]["numberFormat"]
            for col in range(cells["startColumnIndex"], cells["endColumnIndex"]):
                target.formats[col] = dict(number_format)
            replies.append({})
        elif "updateDimensionProperties" in request:
            span, target = request["updateDimensionProperties"]["range"], _by_id(fake, key,
                                                                                  request["updateDimensionProperties"]["range"])
            for col in range(span["startIndex"], span["endIndex"]):
                target.widths[col] = request["updateDimensionProperties"]["properties"]["pixelSize"]
            replies.append({})
        else:
            raise ApiFailure(400, f"unsupported request {sorted(request)}")
    return {"spreadsheetId": key, "replies": replies}


def _by_id(fake: FakeSheetsServer, key: str, grid_range: dict) -> Worksheet:
    found = [s for s in fake.books[key]["sheets"] if s.props["sheetId"] == grid_range["sheetId"]]
    if not found:
        raise ApiFailure(400, f"No grid with id: {grid_range['sheetId']}")
    return found[0]


_HANDLERS = {
    "metadata": _metadata, "get": _get, "batch_get": _batch_get, "update": _update,
    "batch_update": _batch_update, "append": _append, "clear": _clear,
    "batch_clear": _batch_clear, "sheet_batch": _sheet_batch,
}

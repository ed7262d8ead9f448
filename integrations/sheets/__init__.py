"""Sheet backends (Google through gspread, a local .xlsx workbook) behind one interface."""

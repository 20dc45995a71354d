"""Excel term sheets (openpyxl): layout only, no maths.

:func:`write_term_sheets` writes one workbook per tranche class of a run; docs/termsheets.md
describes each sheet.
"""

from .termsheet import term_sheet_workbooks, write_term_sheets

__all__ = ["term_sheet_workbooks", "write_term_sheets"]

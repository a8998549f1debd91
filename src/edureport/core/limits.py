"""Every size limit on input files, in one place (documented in docs/data-format.md and docs/data-intake.md).

Input files come from townships and schools, by e-mail or USB stick: a file can be damaged, mislabelled or
made to hurt. Each limit below is checked *before* the expensive step it protects (reading a CSV into
memory, inflating a zip member, letting openpyxl build cells), so a bad file costs a refusal with a
located Chinese message, never all the memory of the machine. The figures were measured on the 2-core
benchmark machine (docs/benchmarks.md) with the demo data; each comment says what a limit protects and
how far it is from real data.
"""

from __future__ import annotations

MiB = 1 << 20

# --- CSV ---------------------------------------------------------------------------------------------

# Largest CSV file per table. Observations and baselines are read and checked 500,000 rows at a time
# (readers.CHUNK_ROWS): the benchmark's 10⁷-row observations.csv is about 700 MB and validates in 69 s
# with a 2.1 GB peak; 1 GiB leaves 45 % of headroom above that (about 1.5·10⁷ rows, ~3 GB peak).
# A 2 GB file used to end in ArrowMemoryError. The other tables are read whole, and a whole read costs
# per row: a 50 MB townships.csv of one-letter rows (26 million rows) took 67 s and 2.1 GB, a 10 MB one
# 16 s and 0.6 GB. The demo's are 0.1–12 KB for 6 townships and a county's year of activities (the
# longest) is about 200 KB, so 10 MiB is 50 times any real registry, project or activity list.
CSV_MAX_BYTES: dict[str, int] = {
    "observations": 1024 * MiB,
    "baselines": 1024 * MiB,
    "townships": 10 * MiB,
    "schools": 10 * MiB,
    "projects": 10 * MiB,
    "activities": 10 * MiB,
}

# Rows of a CSV. Short rows cost more than their bytes: each row kept after validation takes about 200
# bytes whatever its length (the benchmark's 10⁷ rows: 2.1 GB peak), so a 1 GiB file of two-byte rows
# (500 million) would need about 100 GB. 15 million is the benchmark's 10⁷ rows with 50 % headroom;
# the pre-pass counts rows, so such a file is refused before pandas reads it.
CSV_MAX_ROWS = 15_000_000

# Longest CSV row (bytes from one row's start to the next; a quoted cell may span lines). Real rows are
# under 200 bytes; a row holding a full Excel cell (32,767 characters, 3 bytes each in UTF-8) is 96 KiB.
# 1 MiB stops a file without line breaks, a binary file or an unclosed quote from making one giant
# cell (pandas would hold a whole 500,000-row piece of such "rows"), while any real row passes.
CSV_MAX_ROW_BYTES = 1 * MiB

# Longest cell, in characters: Excel's own limit, so no cell typed or pasted in Excel is refused,
# and a 50 MB cell is named by its row and column instead of being echoed into the output.
MAX_CELL_CHARS = 32_767

# --- Tables (CSV and worksheets) ------------------------------------------------------------------------

# Columns of a table. The widest table (指标数据 with its reference columns) has 11; 100 leaves room for
# the helper columns people add (填表人, 审核, …). A 20,000-column file (or a worksheet reaching column
# XFD, Excel's last) is refused instead of building 20,000 columns.
MAX_COLUMNS = 100

# Rows of a worksheet. The demo's whole county-year of observations is 9,401 rows (6 townships); a
# filled form is a few hundred. Bigger tables belong in CSV, which is read in pieces.
MAX_SHEET_ROWS = 100_000

# Cells of a worksheet's used range (rows × columns up to its farthest cell), and all cells stored in a
# workbook. openpyxl builds a Python object for every position of the used range when rows are read:
# 1.1 million cells (100,000 rows × 11) took 20 s and 520 MB, so 2 million is about 40 s and 1 GB.
# A 21 KB workbook with one cell at XFD1048576 has a used range of 1.7·10¹⁰ cells and used to exhaust
# memory.
MAX_SHEET_CELLS = 2_000_000
MAX_WORKBOOK_CELLS = 2_000_000

# Distinct strings of a workbook (xl/sharedStrings.xml): never more than its cells in a real file.
MAX_SHARED_STRINGS = MAX_WORKBOOK_CELLS

# --- XLSX as a zip file -------------------------------------------------------------------------------------

# Parts of the zip. A filled form has 14, a workbook with pictures and charts a few dozen.
MAX_ZIP_MEMBERS = 1_000

# Uncompressed size of one part and of all parts (ZipInfo.file_size; zipfile never inflates more than
# that). A worksheet at MAX_SHEET_CELLS is about 100 MB of XML (53 bytes a cell measured with inline
# strings, less with shared strings); the filled form is 133 KB in all.
MAX_ZIP_MEMBER_BYTES = 200 * MiB
MAX_ZIP_TOTAL_BYTES = 300 * MiB

# Compression ratio (uncompressed / compressed) of a part larger than ZIP_RATIO_MIN_BYTES. Real parts
# compress 2–20× (the 1.1-million-cell worksheet 14×, the form's parts at most 9×); deflate can reach
# about 1,030×, which is what a zip bomb uses. Small parts are exempt: they cannot hurt, whatever
# their ratio.
MAX_ZIP_RATIO = 200
ZIP_RATIO_MIN_BYTES = 1 * MiB

# XML elements in all parts of a workbook. openpyxl makes about one object per element (a cell is 2–3:
# <c>, <v>, <f>, <is>, <t>); the 1.1-million-cell worksheet above had 3.1 million. 6 million covers a
# worksheet at MAX_SHEET_CELLS with its shared strings and styles, and bounds what the parts the cell
# limits do not describe (styles, comments, drawings, pivot caches) can make openpyxl build.
MAX_XML_ELEMENTS = 6_000_000

# --- Submissions (edureport import) -------------------------------------------------------------------------

# A submitted file (form or plain table) is read whole, so the bound of the whole-read tables applies to
# any of them: a township's filled form is about 22 KB, the demo's whole county-year of observations as
# CSV 373 KB.
SUBMISSION_MAX_BYTES = 10 * MiB

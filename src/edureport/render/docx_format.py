"""Word (.docx): an editable report in the look of a Chinese government document, built from the report's
HTML (the same content as the web page and the PDF, not a picture of it) with python-docx.

The report HTML is simple and made by this project (``render/templates``, ``report/htmlkit.py``): headings,
paragraphs, tables with caption/thead/tbody, figures holding an inline SVG chart and its caption, lists.
``html.parser`` reads it into a small tree and each element becomes its Word counterpart:

- h1 → "Title", h2/h3/h4 → "Heading 1/2/3" (Word's navigation pane shows the outline);
- tables → real Word tables (header row repeated on every page); a cell is its text, so a status badge
  is "达标" (in the badge's colour) and a progress bar is its percentage;
- charts → the notebook's PNG of the same chart (``htmlkit.Chart.outputs``: 2× its screen width, so
  ≥ 192 dpi at the width it is placed; it is placed no wider than the text, ≥ 200 dpi for the widest
  charts), with its caption below;
- A4, GB/T 9704 margins (top 37 mm, bottom 35 mm, left 28 mm, right 26 mm), "第 X 页" in the footer.

Fonts are the ones of a government document, named as Windows names them, each with its common other name
as the font table's ``altName`` (Word looks a missing font up under it): title 方正小标宋简体 (else 宋体),
headings 黑体/楷体, body 仿宋 16 pt (三号), tables 宋体 10.5 pt (五号).

The same HTML gives the same bytes: fixed document properties and zip entries with a fixed date.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from edureport.render.formats import OutputFormat, register

# --- the HTML, read into a small tree -------------------------------------------------------------------

VOID = {"br", "wbr", "img", "meta", "link", "hr", "input", "col", "source"}
SKIP = {"head", "style", "script", "title", "svg"}  # (an svg's label is kept as an attribute)


@dataclass
class Node:
    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Node | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def find(self, tag: str) -> Node | None:
        return next(iter(self.find_all(tag)), None)

    def find_all(self, tag: str) -> list[Node]:
        out = []
        for child in self.children:
            if isinstance(child, Node):
                if child.tag == tag:
                    out.append(child)
                out += child.find_all(tag)
        return out

    def text(self) -> str:
        """The text as a reader sees it: <br> a line break, whitespace runs one space."""
        parts: list[str] = []
        for child in self.children:
            if isinstance(child, str):
                parts.append(child)
            elif child.tag == "br":
                parts.append("\n")
            else:
                parts.append(child.text())
        return "".join(parts)


class TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root")
        self.stack = [self.root]
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skipping:
            if tag not in VOID:
                self.skipping += 1
            return
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag in SKIP:
            self.skipping = 1
            return
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self.skipping:
            self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        if self.skipping:
            self.skipping -= 1
            return
        if tag in VOID:
            return
        for i in range(len(self.stack) - 1, 0, -1):  # tolerate a missing end tag
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.stack[-1].children.append(data)


def parse_html(html: str) -> Node:
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root.find("main") or builder.root.find("body") or builder.root


def squash(text: str) -> str:
    """Whitespace runs → one space, per line; no leading or trailing space."""
    return "\n".join(" ".join(line.split()) for line in text.split("\n")).strip()


# --- the look --------------------------------------------------------------------------------------------

TITLE_FONT, BODY_FONT, HEI, KAI, SONG = "方正小标宋简体", "仿宋", "黑体", "楷体", "宋体"
LATIN = "Times New Roman"
# name → (altName, panose, charset 86 = GB2312, family): the font table's entries, which Word uses to find
# a font that is missing under its first name (仿宋_GB2312 machines have 仿宋 too since Windows Vista).
FONT_TABLE = {
    TITLE_FONT: ("宋体", "02000000000000000000", "roman"),
    BODY_FONT: ("FangSong", "02010609060101010101", "modern"),
    HEI: ("SimHei", "02010609060101010101", "modern"),
    KAI: ("KaiTi", "02010609060101010101", "modern"),
    SONG: ("SimSun", "02010600030101010101", "auto"),
}
BODY_PT, TABLE_PT, LINE_PT = 16, 10.5, 28  # 三号 body on a 28 pt line (22 lines a page); 五号 tables
MARGINS_MM = {"top_margin": 37, "bottom_margin": 35, "left_margin": 28, "right_margin": 26}
TEXT_WIDTH_MM = 210 - 28 - 26
FIXED_TIME = dt.datetime(2000, 1, 1)  # the documents' created/modified/printed dates
_NUMBER = re.compile(r"^图\s*(\d+)")
_COLOUR = re.compile(r"background:\s*#([0-9a-fA-F]{6})")


def _fonts(run_or_style: Any, east_asia: str, latin: str = LATIN) -> None:
    """Set the Latin and the East Asian face (python-docx's ``font.name`` sets only the Latin ones)."""
    from docx.oxml.ns import qn

    run_or_style.font.name = latin
    rpr = run_or_style.element.get_or_add_rPr()
    fonts = rpr.get_or_add_rFonts()
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)
    fonts.set(qn("w:eastAsia"), east_asia)


def _style(doc: Any, name: str, east_asia: str, size: float, *, bold: bool = False, center: bool = False,
           before: float = 0, after: float = 0, line: float | None = LINE_PT, indent: bool = False) -> Any:
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    style = doc.styles[name]
    _fonts(style, east_asia)
    style.font.size = Pt(size)
    style.font.bold = bold
    style.font.italic = False
    style.font.color.rgb = RGBColor(0, 0, 0)
    ppr = style.element.get_or_add_pPr()
    for child in ppr.findall(qn("w:pBdr")):  # the template's Title has a rule under it
        ppr.remove(child)
    fmt = style.paragraph_format
    fmt.alignment = WD_ALIGN_PARAGRAPH.CENTER if center else WD_ALIGN_PARAGRAPH.JUSTIFY
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    if line:
        fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        fmt.line_spacing = Pt(line)
    else:
        fmt.line_spacing_rule = WD_LINE_SPACING.SINGLE
    fmt.first_line_indent = Pt(2 * size) if indent else Pt(0)
    fmt.left_indent = Pt(0)
    return style


def _setup(doc: Any, title: str) -> None:
    from docx.enum.section import WD_ORIENT
    from docx.enum.style import WD_STYLE_TYPE
    from docx.shared import Mm, Pt

    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    for name, mm in MARGINS_MM.items():
        setattr(section, name, Mm(mm))
    section.header_distance, section.footer_distance = Mm(15), Mm(22)

    _style(doc, "Normal", BODY_FONT, BODY_PT, indent=True)
    _style(doc, "Title", TITLE_FONT, 22, center=True, before=0, after=12, line=36)
    _style(doc, "Heading 1", HEI, BODY_PT, before=6, after=0)
    _style(doc, "Heading 2", KAI, BODY_PT, before=0, after=0)
    _style(doc, "Heading 3", BODY_FONT, BODY_PT, bold=True)
    for level in (1, 2, 3):  # headings indented two characters, like the body (GB/T 9704)
        fmt = doc.styles[f"Heading {level}"].paragraph_format
        fmt.first_line_indent = Pt(2 * BODY_PT)
        fmt.keep_with_next = True
    styles = doc.styles
    for name, font, size, bold in (("Report Cover", KAI, BODY_PT, False), ("Report Caption", HEI, 12, False),
                                   ("Report Table", SONG, TABLE_PT, False), ("Report Note", KAI, 14, False),
                                   ("Report Small", SONG, 10.5, False), ("Report Footer", SONG, 14, False)):
        if name not in [s.name for s in styles]:
            styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH).base_style = styles["Normal"]
        _style(doc, name, font, size, bold=bold, center=name in ("Report Cover", "Report Caption", "Report Footer"),
               line=None if name in ("Report Table", "Report Small", "Report Footer") else LINE_PT)
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    styles["Report Table"].paragraph_format.alignment = WD_ALIGN_PARAGRAPH.LEFT
    styles["Report Table"].paragraph_format.first_line_indent = Mm(0)
    styles["Report Small"].paragraph_format.first_line_indent = Mm(0)
    styles["Report Caption"].paragraph_format.keep_with_next = True
    styles["Report Caption"].paragraph_format.space_before = Mm(2)
    _footer(doc, section)

    props = doc.core_properties
    props.title, props.author, props.last_modified_by = title, "edureport", "edureport"
    props.subject = props.keywords = props.comments = props.category = ""
    props.created = props.modified = FIXED_TIME
    props.last_printed = FIXED_TIME
    props.revision = 1
    _font_table(doc)


def _footer(doc: Any, section: Any) -> None:
    """'第 X 页' centred in the footer; X is Word's PAGE field."""
    para = section.footer.paragraphs[0]
    para.style = doc.styles["Report Footer"]
    para.paragraph_format.first_line_indent = 0
    para.add_run("第 ")
    _field_char(para.add_run(), "begin")
    _instr(para.add_run(), " PAGE ")
    _field_char(para.add_run(), "separate")
    para.add_run("1")
    _field_char(para.add_run(), "end")
    para.add_run(" 页")


def _font_table(doc: Any) -> None:
    """Entries for the faces used, with the other name Word finds them under when the first is missing."""
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.opc.oxml import parse_xml, serialize_part_xml
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    part = doc.part.part_related_by(RT.FONT_TABLE)  # a plain part in python-docx: its XML is edited as bytes
    root = parse_xml(part.blob)
    for el in list(root):
        if el.get(qn("w:name")) in FONT_TABLE:
            root.remove(el)
    for name, (alt, panose, family) in FONT_TABLE.items():
        font = OxmlElement("w:font")
        font.set(qn("w:name"), name)
        for tag, value in (("w:altName", alt), ("w:panose1", panose), ("w:charset", "86"),
                           ("w:family", family), ("w:pitch", "variable")):
            child = OxmlElement(tag)
            child.set(qn("w:val"), value)
            font.append(child)
        root.append(font)
    part._blob = serialize_part_xml(root)


# --- the content -----------------------------------------------------------------------------------------

HEADINGS = {"h1": "Title", "h2": "Heading 1", "h3": "Heading 2", "h4": "Heading 3"}


class Writer:
    def __init__(self, doc: Any, charts: dict[int, tuple[bytes, float]]):
        self.doc, self.charts = doc, charts
        self.missing: list[str] = []

    def block(self, node: Node) -> None:
        tag, classes = node.tag, node.classes
        if "screen-only" in classes:  # the link back to the index page: no place on paper
            return
        if tag == "nav" and "toc" in classes:
            self.contents(node)
        elif tag in HEADINGS:
            self.paragraph(node, HEADINGS[tag])
        elif tag == "p":
            if "issuer" in classes or "subtitle" in classes:
                self.paragraph(node, "Report Cover")
            elif {"asof", "fingerprint", "mono"} & classes:
                self.paragraph(node, "Report Small", center="mono" not in classes)
            elif "commentary" in classes or "note" in classes:
                self.paragraph(node, "Report Note")
            else:
                self.paragraph(node, "Normal")
        elif tag == "table":
            self.table(node)
        elif tag == "figure":
            self.figure(node)
        elif tag in ("ol", "ul"):
            for i, item in enumerate(node.find_all("li"), 1):
                self.paragraph(item, "Normal", prefix=f"{i}．" if tag == "ol" else "• ")
        elif tag in ("header", "section", "main", "div", "nav", "article", "body", "#root"):
            for child in node.children:
                if isinstance(child, Node):
                    self.block(child)
                elif child.strip():
                    self.doc.add_paragraph(squash(child))
        # anything else (scripts, stray inline markup between blocks) carries no report content

    def contents(self, nav: Node) -> None:
        """The HTML's table of contents → "目录" and a Word TOC field of the headings (levels 1–2) whose
        shown result is the HTML's entries, so it reads right before Word updates it (F9 adds the page
        numbers); then a page break, as in the PDF."""
        from docx.enum.text import WD_BREAK
        from docx.shared import Pt

        heading = nav.find("h2") or nav.find("h3")
        if heading is not None:
            self.paragraph(heading, "Report Cover")
        items = nav.find_all("li")
        for i, item in enumerate(items):
            para = self.doc.add_paragraph(style="Normal")
            para.paragraph_format.first_line_indent = Pt(0)
            para.paragraph_format.left_indent = Pt(2 * BODY_PT if "l3" in item.classes else 0)
            if i == 0:
                _field_char(para.add_run(), "begin")
                _instr(para.add_run(), ' TOC \\o "1-2" \\h \\z \\u ')
                _field_char(para.add_run(), "separate")
            para.add_run(squash(item.text()))
            if i == len(items) - 1:
                _field_char(para.add_run(), "end")
        self.doc.add_paragraph(style="Report Small").add_run().add_break(WD_BREAK.PAGE)

    def paragraph(self, node: Node, style: str, *, prefix: str = "", center: bool | None = None) -> Any:
        from docx.enum.text import WD_ALIGN_PARAGRAPH

        para = self.doc.add_paragraph(style=style)
        if center is not None:
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER if center else WD_ALIGN_PARAGRAPH.LEFT
        if prefix:
            para.add_run(prefix)
        self.runs(para, node)
        return para

    def runs(self, para: Any, node: Node) -> None:
        from docx.shared import RGBColor

        text = squash(node.text())
        colour = None
        badge = next((n for n in [node, *node.find_all("span")] if {"badge", "flag"} & n.classes), None)
        if badge is not None and (m := _COLOUR.search(badge.attrs.get("style", ""))):
            colour = RGBColor.from_string(m.group(1).upper())
        for i, line in enumerate(text.split("\n")):
            run = para.add_run()
            if i:
                run.add_break()
            run.add_text(line)
            if colour is not None:
                run.font.color.rgb = colour
                run.font.bold = True

    def table(self, node: Node) -> None:
        from docx.enum.table import WD_TABLE_ALIGNMENT
        from docx.shared import Mm

        caption = node.find("caption")
        if caption is not None:
            self.paragraph(caption, "Report Caption")
        rows: list[tuple[bool, list[Node]]] = []
        for part in ("thead", "tbody", "tfoot"):
            for section in [n for n in node.children if isinstance(n, Node) and n.tag == part]:
                for tr in section.find_all("tr"):
                    rows.append((part == "thead", [c for c in tr.children if isinstance(c, Node) and c.tag in ("td", "th")]))
        if not rows:
            rows = [(False, [c for c in tr.children if isinstance(c, Node) and c.tag in ("td", "th")])
                    for tr in node.find_all("tr")]
        ncols = max((len(cells) for _, cells in rows), default=0)
        if not ncols:
            return
        table = self.doc.add_table(rows=len(rows), cols=ncols)
        table.style = self.doc.styles["Table Grid"]
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        table.autofit = False
        widths = _column_widths(rows, ncols, TEXT_WIDTH_MM)
        for r, (head, cells) in enumerate(rows):
            row = table.rows[r]
            if head:
                _repeat_header(row)
            _no_split(row)
            for c in range(ncols):
                cell = row.cells[c]
                cell.width = Mm(widths[c])
                para = cell.paragraphs[0]
                para.style = self.doc.styles["Report Table"]
                if c < len(cells):
                    self.runs(para, cells[c])
                    if head:
                        for run in para.runs:
                            run.font.bold = True
                if head or _numeric(cells[c].text() if c < len(cells) else ""):
                    from docx.enum.text import WD_ALIGN_PARAGRAPH

                    para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        for c, col in enumerate(table.columns):
            col.width = Mm(widths[c])
        self.doc.add_paragraph(style="Report Small")  # a little air below the table

    def figure(self, node: Node) -> None:
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.shared import Mm

        caption = node.find("figcaption")
        label = squash(caption.text()) if caption is not None else ""
        match = _NUMBER.match(label)
        chart = self.charts.get(int(match.group(1))) if match else None
        if chart is not None:
            png, width_mm = chart
            para = self.doc.add_paragraph(style="Report Small")
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER
            para.paragraph_format.keep_with_next = True
            para.add_run().add_picture(io.BytesIO(png), width=Mm(min(width_mm, TEXT_WIDTH_MM)))
        else:  # a figure without a PNG in the notebook: its description stands in for it
            svg = node.find("svg")
            self.missing.append(label)
            text = (svg.attrs.get("aria-label", "") if svg is not None else "") or "（图见网页版）"
            self.doc.add_paragraph(text, style="Report Note")
        if caption is not None:  # below the picture: kept with it, not with what follows
            self.paragraph(caption, "Report Caption").paragraph_format.keep_with_next = False


def _field_char(run: Any, kind: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    el = OxmlElement("w:fldChar")
    el.set(qn("w:fldCharType"), kind)
    run._r.append(el)


def _instr(run: Any, text: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    el = OxmlElement("w:instrText")
    el.set(qn("xml:space"), "preserve")
    el.text = text
    run._r.append(el)


def _repeat_header(row: Any) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    trpr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    trpr.append(el)


def _no_split(row: Any) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    el = OxmlElement("w:cantSplit")
    el.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(el)


def _numeric(text: str) -> bool:
    return bool(re.fullmatch(r"[\d,.%\-–—≥≤<>+~/（）()个项次人所起场元万亿百分点天]*", text.strip())) and bool(text.strip())


def _width(text: str) -> int:
    """Display width: a CJK character two, others one."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _column_widths(rows: list[tuple[bool, list[Node]]], ncols: int, total: float) -> list[float]:
    """Each column as wide as its longest line plus the cell padding. When that is wider than the text,
    every column keeps the width of four characters or of its widest cell if narrower (状态, 排名 never
    break a word) and the
    rest of the width is shared in proportion to what each needs beyond that; long texts wrap."""
    unit = TABLE_PT / 72 * 25.4 / 2  # mm per half CJK character
    pad = 2.5
    need, least = [4.0] * ncols, [4.0] * ncols
    for _, cells in rows:
        for c, cell in enumerate(cells[:ncols]):
            wide = max((_width(x) for x in squash(cell.text()).split("\n")), default=0) + pad
            need[c] = max(need[c], wide)
            least[c] = max(least[c], min(wide, 8 + pad))  # up to four characters never wrap
    least = [min(lo, n) for lo, n in zip(least, need, strict=True)]
    room = total / unit
    if sum(need) > room and sum(least) < room:
        spare, extra = room - sum(least), [n - lo for n, lo in zip(need, least, strict=True)]
        need = [lo + spare * e / sum(extra) for lo, e in zip(least, extra, strict=True)]
    scale = total / sum(need)
    return [n * scale for n in need]


# --- charts from the notebook ----------------------------------------------------------------------------

def notebook_charts(notebook: Any) -> dict[int, tuple[bytes, float]]:
    """Chart number → (PNG, width in mm at the HTML's size: the chart's CSS width in px at 96 px/in)."""
    charts = {}
    for cell in (notebook or {}).get("cells", []):
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {})
            info = meta.get("edureport", {})
            png = output.get("data", {}).get("image/png")
            if info.get("role") == "chart" and png:
                raw = base64.b64decode(png)
                width = meta.get("image/png", {}).get("width") or _png_width(raw) / 2
                charts[int(info["number"])] = (raw, float(width) / 96 * 25.4)
    return charts


def _png_width(png: bytes) -> int:
    return int.from_bytes(png[16:20], "big") if png[:8] == b"\x89PNG\r\n\x1a\n" else 960


# --- the file --------------------------------------------------------------------------------------------

def html_to_docx(html: str, notebook: Any = None, *, title: str = "") -> bytes:
    """The report's HTML (and the executed notebook, for the charts' PNG) → the bytes of a .docx."""
    import docx

    doc = docx.Document()
    _setup(doc, title)
    body = doc.element.body
    for child in list(body):  # the template's empty first paragraph
        if child.tag.endswith("}p"):
            body.remove(child)
    Writer(doc, notebook_charts(notebook)).block(parse_html(html))
    buffer = io.BytesIO()
    doc.save(buffer)
    return deterministic_zip(buffer.getvalue())


def deterministic_zip(data: bytes) -> bytes:
    """The same entries in the same order with a fixed date and mode (python-docx stamps the current time)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, src.read(info.filename))
    return out.getvalue()


@register
class DocxFormat(OutputFormat):
    name = "docx"
    label = "Word"
    extension = ".docx"
    folder = "docx"
    order = 30

    def render(self, html: str, notebook: Any, *, title: str) -> bytes:
        return html_to_docx(html, notebook, title=title)

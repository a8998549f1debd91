"""The one place that knows the fonts: CJK faces for matplotlib, HTML and PDF.

The fonts come with the install (the ``mplfonts`` package ships Noto Sans/Serif CJK SC), so no system
font is needed. Reports embed only the glyphs they use (``font_face_css``): the HTML shows correctly on a
PC without CJK fonts, WeasyPrint embeds the same small faces in the PDF, and the subset is cached by its
glyph set so rebuilding a report does not subset again.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import io
from pathlib import Path

from edureport.core import cachefile
from edureport.core.errors import FontMissingError
from edureport.core.paths import cache_dir

FACES = {  # CSS family name → file shipped by mplfonts
    "Noto Serif CJK SC": "NotoSerifCJKsc-Regular.otf",
    "Noto Sans CJK SC": "NotoSansCJKsc-Regular.otf",
}
SERIF, SANS = "Noto Serif CJK SC", "Noto Sans CJK SC"
SUBSET_FORMAT = 4  # bump when subsetting options change (4: verified cache envelopes)


@functools.cache
def font_path(family: str) -> Path:
    try:
        import mplfonts
    except ImportError:
        raise FontMissingError("缺少中文字体：请安装 mplfonts（README 第一条命令会安装）") from None
    path = Path(mplfonts.__file__).parent / "fonts" / FACES[family]
    if not path.is_file():
        raise FontMissingError(f"缺少中文字体文件：{path}")
    return path


@functools.cache
def setup_matplotlib() -> None:
    """Register both faces with matplotlib and make charts reproducible (same data → same bytes)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager, rcParams

    for family in FACES:
        font_manager.fontManager.addfont(str(font_path(family)))
    rcParams["font.family"] = "sans-serif"
    rcParams["font.sans-serif"] = [SANS, "DejaVu Sans"]
    rcParams["font.serif"] = [SERIF, "DejaVu Serif"]
    rcParams["axes.unicode_minus"] = False  # CJK fonts lack U+2212
    rcParams["svg.fonttype"] = "none"  # labels as text, drawn with the report's embedded font subset
    rcParams["svg.hashsalt"] = "edureport"  # stable element ids
    rcParams["path.simplify"] = True
    # Labels are data (unit names, indicator names): "$\\sqrt$镇" is text, not mathtext to typeset (which
    # failed the report on a parse error). Every Text made afterwards — tick labels, ax.text, annotate,
    # legend entries, titles — takes its default from here.
    rcParams["text.parse_math"] = False


def subset_font(family: str, text: str) -> bytes:
    """An OpenType font holding only the glyphs of ``text`` (plus ASCII), cached on disk by content."""
    chars = "".join(sorted(set(text) | {chr(c) for c in range(0x20, 0x7F)}))
    key = hashlib.sha256(f"{SUBSET_FORMAT}|{family}|{chars}".encode()).hexdigest()[:32]
    target = cache_dir() / "fonts" / f"{key}.otf"
    cached = cachefile.read(target)  # verified: a truncated subset would embed a broken font
    if cached is not None:
        return cached
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.hinting = False
    # No save time inside the font (reproducible bytes); the full font's bounding boxes are kept, which is
    # harmless and saves re-measuring every glyph outline (a third of the subsetting time).
    font = TTFont(str(font_path(family)), lazy=True, recalcTimestamp=False, recalcBBoxes=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=chars)
    subsetter.subset(font)
    buf = io.BytesIO()
    font.save(buf)
    data = buf.getvalue()
    with contextlib.suppress(OSError):  # an unwritable cache costs time, not the font
        cachefile.write(target, data)
    return data


def font_face_css(text: str) -> str:
    """@font-face rules embedding subsets of both faces as data URLs (no file or network access)."""
    rules = []
    for family in FACES:
        data = base64.b64encode(subset_font(family, text)).decode("ascii")
        rules.append(
            f"@font-face {{ font-family: '{family}'; font-weight: 400 700; font-style: normal; "
            f"src: url(data:font/otf;base64,{data}) format('opentype'); }}"
        )
    return "\n".join(rules)

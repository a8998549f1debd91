"""Issue 17, item 1: the reports and the index read on a phone, checked in a real browser.

The demo reports are built once (HTML only) and every report and the index are opened from file:// in the
system's Chromium, driven by Playwright (no browser is downloaded; skipped, with the reason, where Chromium
or Playwright is missing — ``EDUREPORT_CHROMIUM`` names another Chromium), at 390×844 (a phone) and
1280×900 (a desktop). On every page:

* a viewport ``<meta>`` (without it a phone lays the page out 980 px wide and shrinks it);
* no page-level horizontal overflow: ``document.scrollingElement.scrollWidth <= innerWidth`` and the
  layout viewport not widened past the screen (``innerWidth`` = 390 or 1280) — a wide table
  or chart scrolls inside its own area, the page does not;
* every visible table cell has room for two Chinese characters a line (its content box, without padding, is
  at least 2 × its font size wide): an indicator name is never set one character per line;
* at 390 px, the text of every chart is at least 11 CSS px high (font size × the SVG's scale on screen),
  the chart being in a horizontal scroll area when it is wider than the screen.

Screenshots (the whole page) of the index and of one township report at both sizes are kept in
tests/artefacts/phone/ (ignored by git); ``pytest -s`` prints the measurements.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from .browser import CHROMIUM_ARGS, browser_env, find_chromium

ROOT = Path(__file__).resolve().parent.parent
ARTEFACTS = ROOT / "tests" / "artefacts" / "phone"
TOWNSHIP = "township-图克镇"  # the report whose screenshots are kept
SIZES = {"phone": (390, 844), "desktop": (1280, 900)}
MIN_CHART_PX = 11.0  # chart text at 390 px
UI_TIMEOUT_MS = 30_000

CHROMIUM, NO_CHROMIUM = find_chromium()
NO_PLAYWRIGHT = importlib.util.find_spec("playwright") is None
pytestmark = [
    pytest.mark.skipif(NO_PLAYWRIGHT, reason="not installed: playwright (pip install -e '.[dev]')"),
    pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM),
]


def log(message: str) -> None:
    print(f"[phone-html] {message}", flush=True)


@pytest.fixture(scope="module")
def site(full_build: Path) -> Path:
    """The build folder (outputs/<年度>/<截至日期>/): index.html and html/*.html, from the session's one
    build of the demo data (these tests only read it)."""
    indexes = sorted(full_build.glob("*/*/index.html"))
    assert len(indexes) == 1, indexes
    return indexes[0].parent


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    base = tmp_path_factory.mktemp("chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
                                              env=browser_env(base), timeout=UI_TIMEOUT_MS)
        try:
            yield chromium
        finally:
            chromium.close()


# What the page measures of itself. A cell or chart inside a closed <details> or otherwise not shown has
# no box and is left out.
MEASURE = """() => {
  const shown = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 };
  const viewport = document.querySelector('meta[name="viewport"]');
  const narrow = [];
  let cells = 0;
  for (const c of document.querySelectorAll('th, td')) {
    if (!shown(c)) continue;
    cells++;
    const st = getComputedStyle(c), fs = parseFloat(st.fontSize);
    // Room for the text: the box less its padding and borders (collapsed borders: half of each is inside).
    const inside = getComputedStyle(c.closest('table')).borderCollapse === 'collapse' ? 0.5 : 1;
    const w = c.getBoundingClientRect().width - parseFloat(st.paddingLeft) - parseFloat(st.paddingRight)
              - inside * (parseFloat(st.borderLeftWidth) + parseFloat(st.borderRightWidth));
    if (w < 2 * fs - 0.5) narrow.push([c.textContent.trim().slice(0, 24), +w.toFixed(1), fs]);
  }
  const charts = [];
  for (const svg of document.querySelectorAll('svg')) {
    if (!shown(svg) || !svg.viewBox.baseVal || !svg.viewBox.baseVal.width) continue;
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;  // CSS px per user unit
    let least = Infinity;
    for (const t of svg.querySelectorAll('text')) {
      if (!t.textContent.trim()) continue;
      least = Math.min(least, parseFloat(getComputedStyle(t).fontSize) * scale);
    }
    if (least === Infinity) continue;
    let box = svg.parentElement, scrolls = false;  // the chart's scroll area, if any
    for (; box && box !== document.body; box = box.parentElement) {
      const ox = getComputedStyle(box).overflowX;
      if (ox === 'auto' || ox === 'scroll') { scrolls = true; break; }
    }
    const r = svg.getBoundingClientRect();
    charts.push({label: svg.getAttribute('aria-label') || '', px: least, width: r.width, scrolls,
                 inside: scrolls ? box.getBoundingClientRect().right <= innerWidth + 0.5 : r.right <= innerWidth + 0.5});
  }
  return {viewport: viewport ? viewport.content : null, scrollWidth: document.scrollingElement.scrollWidth,
          innerWidth, cells, narrow, charts};
}"""


def pages(site: Path) -> list[Path]:
    reports = sorted((site / "html").glob("*.html"))
    assert len(reports) >= 13, reports  # 6 sections, the year-end review, 6 townships
    return [site / "index.html", *reports]


@pytest.mark.parametrize("size", list(SIZES))
def test_reports_and_index_fit_the_screen(size: str, site: Path, browser) -> None:
    width, height = SIZES[size]
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1,
                                  is_mobile=size == "phone", has_touch=size == "phone")
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    problems, least_chart = [], float("inf")
    try:
        for path in pages(site):
            name = "index" if path.name == "index.html" else path.stem
            page.goto(path.as_uri(), wait_until="load")
            page.evaluate("document.fonts.ready.then(() => true)")
            got = page.evaluate(MEASURE)
            charts = got["charts"]
            smallest = min((c["px"] for c in charts), default=None)
            log(f"{size} {name}: scrollWidth {got['scrollWidth']} / {got['innerWidth']}, {got['cells']} cells, "
                f"{len(got['narrow'])} narrow, {len(charts)} charts, smallest chart text "
                f"{'—' if smallest is None else f'{smallest:.2f} px'}")
            if not (got["viewport"] or "").startswith("width=device-width"):
                problems.append(f"{name}: no viewport meta (got {got['viewport']!r})")
            # A phone widens its layout viewport to take in what overflows (innerWidth grows): compare with
            # the screen's width as well.
            if max(got["scrollWidth"], got["innerWidth"]) > width:
                problems.append(f"{name}: page is {got['scrollWidth']} px wide on a {width} px screen "
                                f"(innerWidth {got['innerWidth']})")
            if got["narrow"]:
                problems.append(f"{name}: {len(got['narrow'])} cells narrower than two characters, e.g. "
                                f"{got['narrow'][:3]}")
            for c in charts:
                if not c["inside"]:
                    problems.append(f"{name}: chart {c['label']!r} ({c['width']:.0f} px) runs off the screen")
                if size == "phone":
                    least_chart = min(least_chart, c["px"])
                    if c["px"] < MIN_CHART_PX:
                        problems.append(f"{name}: chart {c['label']!r} has text {c['px']:.2f} px high")
            if name in ("index", TOWNSHIP):
                shot = ARTEFACTS / f"{name}-{width}.png"
                with contextlib.suppress(FileNotFoundError):
                    shot.unlink()
                page.screenshot(path=shot, full_page=True)
                log(f"screenshot: {shot}")
    finally:
        context.close()
    if size == "phone":
        log(f"smallest chart text at {width} px: {least_chart:.2f} px")
    assert not problems, "\n".join(problems)


def test_index_search_filters_the_units(site: Path, browser) -> None:
    """The index's search box (offline, no library) keeps only the reports whose name has the words typed."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    shown = "() => [...document.querySelectorAll('table.index tbody tr')].filter(r => r.offsetParent).length"
    try:
        page.goto((site / "index.html").as_uri(), wait_until="load")
        box = page.locator("#find")
        assert box.is_visible(), "the search box is not shown"
        everything = page.evaluate(shown)
        heads = "() => [...document.querySelectorAll('tr.sub')].filter(r => r.offsetParent).map(r => r.textContent)"
        box.fill("图克镇")  # the full build has none of 图克镇's schools (conftest): its report alone
        assert page.evaluate(shown) == 1 and page.evaluate(heads) == []
        assert page.locator("#found").text_content() == "找到 1 份报告"
        groups = page.eval_on_selector_all("section.group", "gs => gs.map(g => !g.hidden)")
        assert sum(groups) == 1, groups  # only the units' group is left
        box.fill("乌审召镇")  # the township's report, and its school under the township's heading
        assert page.evaluate(shown) == 1 + 1 + 1 and page.evaluate(heads) == ["乌审召镇"]
        assert page.locator("#found").text_content() == "找到 2 份报告"
        assert sum(page.eval_on_selector_all("section.group", "gs => gs.map(g => !g.hidden)")) == 2
        box.fill("高级中学")  # one school: its report under its township's heading
        assert page.evaluate(shown) == 2 and page.evaluate(heads) == ["嘎鲁图镇"]
        assert page.locator("#found").text_content() == "找到 1 份报告"
        box.fill("部分")
        assert page.evaluate(shown) == 6
        box.fill("")
        assert page.evaluate(shown) == everything >= 13
    finally:
        context.close()

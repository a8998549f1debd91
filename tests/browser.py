"""The system's Chromium for the browser tests (Playwright drives it; no browser is downloaded).

Shared by test_jupyterlab_browser.py and test_phone_html.py: where Chromium is (``EDUREPORT_CHROMIUM`` names
another one), the flags that keep it off the network, and a fontconfig file pointing at the CJK faces
edureport ships (mplfonts), so that screenshots show the Chinese text on a machine without CJK fonts.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

# The machine may have no network: without these flags Chromium tries to connect out.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def find_chromium() -> tuple[str | None, str]:
    """(executable, reason when None)."""
    named = os.environ.get("EDUREPORT_CHROMIUM")
    if named:
        found = named if Path(named).is_file() and os.access(named, os.X_OK) else shutil.which(named)
        return found, f"EDUREPORT_CHROMIUM={named!r} is not an executable"
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if found := shutil.which(name):
            return found, ""
    return None, "Chromium not found (chromium, chromium-browser, google-chrome; or set EDUREPORT_CHROMIUM)"


def fontconfig(base: Path) -> dict[str, str]:
    """The CJK faces edureport ships (mplfonts) for Chromium, so the screenshots show the Chinese text."""
    try:
        import mplfonts
    except ImportError:
        return {}
    conf = base / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
        '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n'
        f"  <dir>{Path(mplfonts.__file__).parent / 'fonts'}</dir>\n"
        f"  <cachedir>{base / 'fontconfig-cache'}</cachedir>\n</fontconfig>\n", encoding="utf-8")
    return {"FONTCONFIG_FILE": str(conf)}


def browser_env(base: Path) -> dict[str, str]:
    """Chromium's environment: its own HOME in ``base`` and the CJK fonts."""
    return {**os.environ, "HOME": str(base), **fontconfig(base)}

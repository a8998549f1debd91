"""Issue 16: an executed report notebook, opened untrusted in a real JupyterLab, shows its charts as images.

The test builds two reports with ``edureport build`` (a township report, which has many charts, and one
section report), starts a JupyterLab server of its own on the executed notebooks and opens them in the
system's Chromium, driven by Playwright. No browser is downloaded: the test is skipped, with the reason,
where Chromium, Playwright or JupyterLab is missing (``EDUREPORT_CHROMIUM`` names another Chromium).

* The server is isolated: fresh HOME, JUPYTER_CONFIG_DIR, JUPYTER_DATA_DIR (the notebook signature
  database), JUPYTER_RUNTIME_DIR and JupyterLab settings/workspaces folders in a temporary folder, no
  inherited ``JUPYTER*`` variables, news, update checks and the PyPI extension manager off, and no
  kernel at all (only a kernel name that does not exist is allowed), so nothing reaches the network and
  viewing the outputs cannot depend on a kernel. It is always shut down (kernels included) afterwards.
* Untrusted is established twice: the server's contents API marks every code cell ``trusted: false``
  (that is what JupyterLab uses to decide which outputs to sanitise), and JupyterLab's status bar says
  "Notebook not trusted: 0 of N code cells trusted".
* Every cell is rendered: the notebook ``windowingMode`` is set to ``none`` in the user settings, so
  JupyterLab attaches all cells instead of only those in view; the test waits for every cell and every
  output area, and for every image to load. JupyterLab asks for a kernel (none exists): "No Kernel".

Untrusted, JupyterLab shows ``text/html`` sanitised (an inline ``<svg>`` is removed and its labels are
left as loose text) and never renders ``image/svg+xml``; a chart is shown only through its ``image/png``.
Screenshots are kept in tests/artefacts/jupyterlab/ (ignored by git): <report>-lab.png (the window as
opened), <report>-full.png (the whole notebook) and <report>-chart.png (one chart's output); ``pytest -s``
or ``-rP`` prints their paths and the counts.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbformat.sign import NotebookNotary

from .browser import CHROMIUM_ARGS, browser_env, find_chromium

with contextlib.suppress(ImportError):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parent.parent
ARTEFACTS = ROOT / "tests" / "artefacts" / "jupyterlab"
TOWNSHIP = "图克镇"
REPORTS = {"township": f"township-{TOWNSHIP}", "section": "section-2"}  # test id → notebook stem

START_TIMEOUT = 60  # s, until the server answers /api/status
UI_TIMEOUT_MS = 30_000  # every browser wait
DIALOG_TIMEOUT_MS = 10_000  # the kernel dialog comes about a second after the notebook
NO_KERNEL = "edureport-test-no-such-kernel"  # the only kernel name the server allows: none exists


def missing_modules() -> list[str]:
    return [m for m in ("playwright", "jupyterlab") if importlib.util.find_spec(m) is None]


CHROMIUM, NO_CHROMIUM = find_chromium()
MISSING = missing_modules()
pytestmark = [
    pytest.mark.skipif(bool(MISSING),
                       reason=f"not installed: {', '.join(MISSING)} (pip install -e '.[dev,lab]')"),
    pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM),
]


def log(message: str) -> None:
    """Progress and artefact paths: shown with ``pytest -s`` (and in the report of a failing test)."""
    print(f"[jupyterlab-browser] {message}", flush=True)


# --- the executed notebooks ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lab_root(full_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the server shows: copies of notebooks ``edureport build`` executed (the session's one
    build of the demo data)."""
    root = tmp_path_factory.mktemp("lab-root")
    executed = [p for p in sorted(full_build.glob("*/*/notebooks/*.ipynb")) if p.stem in set(REPORTS.values())]
    for path in executed:
        shutil.copy2(path, root / path.name)
    assert {p.stem for p in executed} == set(REPORTS.values()), executed
    return root


# --- the JupyterLab server ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Lab:
    url: str  # http://127.0.0.1:<port>
    token: str
    root: Path
    data_dir: Path  # JUPYTER_DATA_DIR: the notebook signature database lives here
    log: Path

    def get(self, path: str, timeout: float = 10) -> object:
        return request(f"{self.url}{path}", self.token, timeout=timeout)

    def page(self, notebook: str) -> str:
        """The notebook alone: ``reset`` drops the workspace a previous page saved (its open notebooks)."""
        return f"{self.url}/lab/tree/{urllib.parse.quote(notebook)}?reset&token={self.token}"


def request(url: str, token: str, method: str = "GET", timeout: float = 10) -> object:
    """A JSON request to the server, never through a proxy from the environment."""
    req = urllib.request.Request(url, method=method, headers={"Authorization": f"token {token}"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=timeout) as response:
        body = response.read()
    return json.loads(body) if body else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")


def isolated_env(base: Path) -> dict[str, str]:
    """Every Jupyter and JupyterLab folder in ``base``; nothing inherited from the user's Jupyter setup."""
    folders = {
        "HOME": "home",
        "JUPYTER_CONFIG_DIR": "config",
        "JUPYTER_DATA_DIR": "data",  # nbsignatures.db and notebook_secret: an empty, fresh signature store
        "JUPYTER_RUNTIME_DIR": "runtime",
        "JUPYTERLAB_SETTINGS_DIR": "lab-settings",
        "JUPYTERLAB_WORKSPACES_DIR": "lab-workspaces",
        "IPYTHONDIR": "ipython",
        "XDG_CONFIG_HOME": "xdg-config",
        "XDG_DATA_HOME": "xdg-data",
        "XDG_CACHE_HOME": "xdg-cache",
        "XDG_RUNTIME_DIR": "xdg-runtime",
    }
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JUPYTER", "JPY_", "IPYTHON", "XDG_")) and k not in ("PYTHONSTARTUP",)}
    for name, sub in folders.items():
        path = base / sub
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        env[name] = str(path)
    env["PYTHONNOUSERSITE"] = "1"  # no packages from the user's ~/.local
    return env


def lab_config(root: Path, port: int, token: str) -> dict:
    """jupyter_server_config.json in the fresh JUPYTER_CONFIG_DIR."""
    return {
        "ServerApp": {
            "ip": "127.0.0.1", "port": port, "port_retries": 0, "open_browser": False,
            "root_dir": str(root), "allow_remote_access": False,
            "allow_root": os.geteuid() == 0,  # CI containers run as root
            "terminals_enabled": False,
            # Extensions that scan the machine (language servers) or run shells: not needed to view outputs.
            "jpserver_extensions": {"jupyter_lsp": False, "jupyter_server_terminals": False},
            # A safety net should the test process die without its finalizer: the server ends itself.
            "shutdown_no_activity_timeout": 600,
        },
        "IdentityProvider": {"token": token},
        "LabApp": {
            "news_url": None,  # no announcements feed
            "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
            "extension_manager": "readonly",  # no PyPI listing
        },
        # No kernel can start: the notebooks are viewed, never run.
        "KernelSpecManager": {"allowed_kernelspecs": [NO_KERNEL], "ensure_native_kernel": False},
    }


LAB_SETTINGS = {  # JupyterLab user settings (JUPYTERLAB_SETTINGS_DIR), plugin → values
    # Attach every cell to the DOM, not only those in view (the default, contentVisibility, or defer/full).
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none", "autoStartDefaultKernel": False},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/extensionmanager-extension/plugin": {"enabled": False},
}


@pytest.fixture(scope="module")
def lab(lab_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    base = tmp_path_factory.mktemp("lab-env")
    env = isolated_env(base)
    port, token = free_port(), secrets.token_hex(24)
    config = lab_config(lab_root, port, token)
    write_json(Path(env["JUPYTER_CONFIG_DIR"]) / "jupyter_server_config.json", config)
    for plugin, values in LAB_SETTINGS.items():
        write_json(Path(env["JUPYTERLAB_SETTINGS_DIR"]) / f"{plugin}.jupyterlab-settings", values)
    server = Lab(url=f"http://127.0.0.1:{port}", token=token, root=lab_root,
                 data_dir=Path(env["JUPYTER_DATA_DIR"]), log=base / "server.log")
    started = time.monotonic()
    with server.log.open("wb") as log_file:
        proc = subprocess.Popen([sys.executable, "-m", "jupyterlab"], cwd=lab_root, env=env,
                                stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        wait_for_status(server, proc)
        log(f"JupyterLab {server.url} answering after {time.monotonic() - started:.1f} s (log {server.log})")
        yield server
    finally:
        stop(server, proc)


def wait_for_status(server: Lab, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            pytest.fail(f"JupyterLab exited ({proc.returncode}) before answering:\n{tail(server.log)}")
        try:
            server.get("/api/status", timeout=2)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                pytest.fail(f"no answer from /api/status in {START_TIMEOUT} s:\n{tail(server.log)}")
            time.sleep(0.25)


def stop(server: Lab, proc: subprocess.Popen) -> None:
    """Shut the server down through its API (it shuts its kernels down), then by signal if it lingers."""
    if proc.poll() is None:
        with contextlib.suppress(OSError, urllib.error.URLError):
            request(f"{server.url}/api/shutdown", server.token, method="POST", timeout=5)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=15)
    for sig in (signal.SIGTERM, signal.SIGKILL):  # the server's own process group (start_new_session)
        if proc.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)


def tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


# --- the browser --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    base = tmp_path_factory.mktemp("chromium")
    env = browser_env(base)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
                                              env=env, timeout=UI_TIMEOUT_MS)
        try:
            yield chromium
        finally:
            chromium.close()


# --- the test -----------------------------------------------------------------------------------------------

def outputs(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def shown_outputs(nb: nbformat.NotebookNode) -> int:
    """How many output areas JupyterLab shows: it joins consecutive stream outputs of the same name."""
    count = 0
    for cell in (c for c in nb.cells if c.cell_type == "code"):
        previous = None
        for output in cell.outputs:
            stream = output.get("name") if output.output_type == "stream" else None
            count += not (stream and stream == previous)
            previous = stream
    return count


def choose_no_kernel(page) -> int:
    """Answer JupyterLab's "Select Kernel" dialog with "No Kernel"; how many times it asked.

    No kernelspec is allowed, so JupyterLab cannot start the notebook's kernel and asks (a moment after the
    notebook shows). The dialog is waited for a bounded time, so a JupyterLab that does not ask passes too."""
    dialog = page.locator(".jp-Dialog")
    answered = 0
    for wait in (DIALOG_TIMEOUT_MS, 1_000, 1_000):
        try:
            dialog.first.wait_for(state="visible", timeout=wait)
        except PlaywrightTimeout:
            break
        no_kernel = dialog.first.get_by_role("button", name=re.compile("No Kernel", re.I))
        if no_kernel.count():
            no_kernel.first.click()
        else:
            page.keyboard.press("Escape")
        answered += 1
        page.wait_for_timeout(200)
    expect(dialog).to_have_count(0)
    return answered


@pytest.mark.parametrize("report", list(REPORTS))
def test_untrusted_notebook_shows_charts_as_images(report: str, lab: Lab, browser, record_property) -> None:
    started = time.monotonic()
    name = f"{REPORTS[report]}.ipynb"
    nb = nbformat.read(lab.root / name, as_version=4)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    images = [o for o in outputs(nb) if "image/png" in o.get("data", {})]

    # Untrusted, by the server: the contents API marks each code cell with the notebook's signature check
    # against the fresh signature store; JupyterLab sanitises the outputs of untrusted cells.
    model = lab.get(f"/api/contents/{urllib.parse.quote(name)}?content=1&type=notebook")
    trusted = [c["metadata"].get("trusted") for c in model["content"]["cells"] if c["cell_type"] == "code"]
    assert trusted and all(t is False for t in trusted), f"the server trusts cells of {name}: {trusted}"
    assert not NotebookNotary(data_dir=str(lab.data_dir)).check_signature(nb)

    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    try:
        page.goto(lab.page(name), wait_until="domcontentloaded", timeout=UI_TIMEOUT_MS)
        notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")
        expect(notebook).to_be_visible(timeout=UI_TIMEOUT_MS)

        # Every cell and every output attached (windowingMode none), the images loaded.
        expect(notebook.locator(".jp-Cell")).to_have_count(len(nb.cells))
        expect(notebook.locator(".jp-OutputArea-output")).to_have_count(shown_outputs(nb))
        page.wait_for_function(
            """() => [...document.querySelectorAll('.jp-RenderedImage img')].every(i => i.complete)""",
            timeout=UI_TIMEOUT_MS)
        asked = choose_no_kernel(page)

        # Untrusted, as JupyterLab shows it: the status bar's trust item.
        expect(page.locator(".jp-StatusItem-trust")).to_have_attribute(
            "title", re.compile(rf"^Notebook not trusted: 0 of {len(code_cells)} code cells trusted"))

        rendered = page.eval_on_selector_all(
            ".jp-Notebook .jp-RenderedImage img",
            "els => els.map(i => [i.naturalWidth, i.naturalHeight])")
        html_svg = notebook.locator(".jp-RenderedHTMLCommon svg").count()
        kernels, sessions = lab.get("/api/kernels"), lab.get("/api/sessions")
        for kind, path in save_screenshots(page, REPORTS[report], bool(rendered)).items():
            record_property(f"screenshot-{kind}", str(path))  # in the JUnit XML of a CI run
    finally:
        context.close()
    log(f"{name}: {len(nb.cells)} cells, {len(outputs(nb))} outputs, {len(images)} image/png outputs, "
        f"{len(rendered)} rendered <img> {rendered[:3]}{'…' if len(rendered) > 3 else ''}, "
        f"{html_svg} <svg> in HTML outputs, kernel dialog answered {asked}×, "
        f"{time.monotonic() - started:.1f} s")

    assert kernels == [] and sessions == [], f"a kernel was started: {kernels} {sessions}"
    # The charts are images: an image/png in each chart's output, rendered as a loaded <img>.
    inline = sum(o.get("data", {}).get("text/html", "").count("<svg") for o in outputs(nb))
    assert not inline, (f"{name}: {inline} charts are inline <svg> in text/html outputs; untrusted "
                        "JupyterLab strips them and leaves their labels as loose text")
    assert images, f"{name}: no image/png output (a report's charts must carry an image/png)"
    assert len(rendered) >= len(images) >= 1, f"{name}: {len(images)} image/png outputs, {len(rendered)} <img>"
    assert all(w > 0 and h > 0 for w, h in rendered), f"{name}: images that did not load: {rendered}"
    assert html_svg == 0, f"{name}: {html_svg} <svg> inside HTML outputs"


def save_screenshots(page, stem: str, has_images: bool) -> dict[str, Path]:
    """The window as opened, the whole notebook (a window as tall as the notebook) and one chart's output."""
    shots = {"lab": ARTEFACTS / f"{stem}-lab.png", "full": ARTEFACTS / f"{stem}-full.png",
             "chart": ARTEFACTS / f"{stem}-chart.png"}
    for path in shots.values():
        path.unlink(missing_ok=True)
    page.screenshot(path=shots["lab"])
    # The notebook scrolls inside JupyterLab, not the page: make the window as tall as the notebook.
    height = page.evaluate("""() => {
        const s = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer')
        return s ? s.scrollHeight : document.body.scrollHeight }""")
    page.set_viewport_size({"width": 1400, "height": min(16_000, int(height) + 200)})
    page.wait_for_timeout(500)  # JupyterLab lays the panels out again
    page.screenshot(path=shots["full"])
    if has_images:
        target = page.locator(".jp-OutputArea-child:has(.jp-RenderedImage img)").first
    else:  # no image (charts still inline SVG in HTML): the tallest output, to see what is shown instead
        tallest = page.eval_on_selector_all(
            ".jp-OutputArea-output",
            "els => els.reduce((best, e, i) => e.scrollHeight > els[best].scrollHeight ? i : best, 0)")
        target = page.locator(".jp-OutputArea-output").nth(tallest)
    target.screenshot(path=shots["chart"])
    log("screenshots: " + ", ".join(str(p) for p in shots.values()))
    return shots

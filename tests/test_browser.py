# SPDX-License-Identifier: MIT
"""The lessons in a real browser: JupyterLab on 127.0.0.1 (a random token, a free port, a
private copy of the notebooks and private settings), headless Chromium driven by Python
``playwright``, every lesson opened and run with JupyterLab's own Run > Run All Cells.

Each lesson must run to its last cell with no error, and its widgets must render (no
"Error displaying widget", no widget left loading). Where a lesson has a live view, the test
watches it change while the cells run: the build progress bar of lesson 00 fills up, the live
plots of lessons 03 (net counters) and 04 (memory dashboard) draw new data while their own
cells run (both are a LiveFigure), and in lesson 02 a debugger panel's ``stepi`` button,
clicked in the browser, moves RIP.

Skipped, with the reason, when Debian's ``chromium`` or the ``playwright`` package is missing
(``scripts/setup.sh`` installs both). On a failure the test keeps a screenshot and the
server's log under ``test-artifacts/browser/``, with the notebook's text (its outputs and
errors) next to each screenshot. All six lessons take about two minutes on two
cores; ``LABKIT_BROWSER_LESSONS=00,02`` runs only some.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-dev-shm-usage"]
LESSONS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
_only = os.environ.get("LABKIT_BROWSER_LESSONS")
if _only:
    LESSONS = [n for n in LESSONS if n[:2] in _only.split(",")]
RUN_TIMEOUT = 300          # seconds for one lesson's Run All: 10-30 s alone, 150+ on a busy runner

if not Path(CHROMIUM).is_file():
    pytest.skip("Debian's chromium is not installed (scripts/setup.sh installs it when run "
                "as root: apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not "
                               "installed (pip install -e '.[test]')")

pytestmark = [pytest.mark.boot, pytest.mark.slow]


# ------------------------------------------------------------------------ the server
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _settings(folder: Path) -> None:
    """Every cell in the page (no windowing), and no news prompt over the notebook."""
    for plugin, values in {
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false",
                                                        "checkForUpdates": False},
    }.items():
        path = folder / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


class Lab:
    """A JupyterLab server on a copy of the lessons, for one test module."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="labkit-browser-"))
        self.notebooks = self.tmp / "notebooks"
        self.notebooks.mkdir()
        for name in LESSONS:
            shutil.copy(ROOT / "notebooks" / name, self.notebooks / name)
        _settings(self.tmp / "settings")
        self.port = _free_port()
        self.token = secrets.token_hex(24)
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "JUPYTER_CONFIG_DIR": str(self.tmp / "config"),
               "JUPYTER_RUNTIME_DIR": str(self.tmp / "runtime"),
               "JUPYTER_DATA_DIR": str(self.tmp / "data")}
        command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip", "127.0.0.1",
                   f"--port={self.port}", f"--IdentityProvider.token={self.token}",
                   f"--ServerApp.root_dir={self.notebooks}", "--allow-root",
                   f"--LabApp.user_settings_dir={self.tmp / 'settings'}",
                   f"--LabApp.workspaces_dir={self.tmp / 'workspaces'}",
                   "--LabApp.news_url=None",
                   "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        self.log_path = self.tmp / "server.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=env, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2)
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("JupyterLab did not start:\n"
                                       + self.server_log()[-3000:]) from None
                time.sleep(0.3)

    def server_log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def shutdown_kernels(self) -> None:
        """End every kernel (and so its machines): one lesson's kernel at a time."""
        api = f"{self.url}/api/kernels?token={self.token}"
        with urllib.request.urlopen(api, timeout=10) as reply:
            kernels = json.load(reply)
        for k in kernels:
            request = urllib.request.Request(
                f"{self.url}/api/kernels/{k['id']}?token={self.token}", method="DELETE")
            urllib.request.urlopen(request, timeout=30).close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)        # the server shuts its kernels down
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    server = Lab()
    try:
        yield server
    finally:
        (ARTIFACTS / "server.log").parent.mkdir(parents=True, exist_ok=True)
        log = server.server_log()
        server.stop()
        if "Traceback" in log:
            (ARTIFACTS / "server.log").write_text(log)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield b
        finally:
            b.close()


# ------------------------------------------------------------------------ page helpers
_STATE_JS = """() => {
  const cells = Array.from(document.querySelectorAll('.jp-Notebook .jp-CodeCell'));
  const prompts = cells.map(c => c.querySelector('.jp-InputPlaceholder') ? 'folded'
                                 : (c.querySelector('.jp-InputPrompt') || {}).textContent || '');
  const errors = cells.map((c, i) => {
      const err = Array.from(c.querySelectorAll('.jp-OutputArea-output'))
        .map(o => o.textContent)
        .find(t => /Traceback|^\\s*\\w+(Error|Exception|Timeout)\\b|Error: /.test(t)
                   || t.includes('LABKIT_TRACEBACK=1'));
      return err ? [i, err.slice(0, 1500)] : null; }).filter(Boolean);
  const status = document.querySelector('.jp-Notebook-ExecutionIndicator');
  return {prompts, errors,
          busy: status ? status.getAttribute('data-status') : 'unknown'};
}"""

_CANVASES_JS = """() => Array.from(document.querySelectorAll(
    '.jp-Notebook canvas, .jp-Notebook .jp-OutputArea img')).map(c => {
  let h = 0;
  try { const s = c.tagName === 'CANVAS' ? c.toDataURL() : c.src;
        for (let i = 0; i < s.length; i += 7) h = (h * 31 + s.charCodeAt(i)) | 0; }
  catch (e) { h = -1; }
  return h; })"""


def _shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    with contextlib.suppress(Exception):    # the whole notebook as text: outputs and errors
        path.with_suffix(".txt").write_text(page.locator(".jp-Notebook").inner_text())
    return path


def _open(page, lab: Lab, name: str) -> None:
    page.goto(f"{lab.url}/lab/tree/{name}?reset&token={lab.token}")   # only this notebook
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=60_000)
    page.wait_for_function("() => { const s = document.querySelector("
                           "'.jp-Notebook-ExecutionIndicator'); "
                           "return s && s.getAttribute('data-status') === 'idle'; }",
                           timeout=60_000)
    page.get_by_text(re.compile(r"\| Idle$")).first.wait_for(timeout=60_000)


def _started(page) -> bool:
    return any(p not in ("[ ]:", "folded") for p in page.evaluate(_STATE_JS)["prompts"])


def _ran(prompt: str) -> bool:
    """A code cell that ran (a folded solution shows no prompt: Run All runs the cells in
    order, so it ran when the cells after it did)."""
    return prompt == "folded" or re.fullmatch(r"\[\d+\]:", prompt) is not None


def _unrun(prompts: list[str], idle: bool) -> list[int]:
    """The code cells that did not run. Run All runs the cells in order, so a cell that still
    shows [*] while the kernel is idle and a later cell has its number did run: JupyterLab
    missed its reply (seen once in lesson 04, after its longest cell)."""
    numbered = [i for i, p in enumerate(prompts) if re.fullmatch(r"\[\d+\]:", p)]
    last = max(numbered, default=-1)
    return [i for i, p in enumerate(prompts)
            if not _ran(p) and not (idle and p == "[*]:" and i < last)]


def _run_all(page) -> None:
    """Run > Run All Cells, from JupyterLab's menu bar. A kernel that says idle may still be
    connecting, and drops what it is sent then: ask again if nothing started."""
    for _ in range(4):
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if _started(page):
                return
            time.sleep(0.2)
    raise AssertionError("Run All Cells started no cell")


def _wait_until_run(page, timeout: float) -> tuple[dict, dict[int, set[int]]]:
    """Wait for Run All to end (every code cell numbered, or the run stopped at an error),
    sampling every canvas meanwhile; returns the last state and each canvas's images."""
    images: dict[int, set[int]] = {}
    deadline = time.monotonic() + timeout
    idle_since = None
    while True:
        state = page.evaluate(_STATE_JS)
        for i, h in enumerate(page.evaluate(_CANVASES_JS)):
            images.setdefault(i, set()).add(h)
        done = not _unrun(state["prompts"], state["busy"] == "idle")
        running = any(p == "[*]:" for p in state["prompts"])
        if done:
            return state, images
        if not running and state["busy"] == "idle":
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since > 5:      # stopped at an error
                return state, images
        else:
            idle_since = None
        if time.monotonic() > deadline:
            return state, images
        time.sleep(0.25)


# ------------------------------------------------------------------------ the lessons
PANEL_CELL = """\
vm_b = await labkit.Machine("hello", paused=True, gdb=True).start()
panel_b = DebuggerPanel(await vm_b.debugger(), vm_b)
display(panel_b.view)
await panel_b.break_at("main")
await panel_b.cont()
print("panel ready")
"""
LIVE_CELL = """\
m_b = await labkit.Machine("netecho", net="wire",
                          options={"net": "channels", "metrics": 100}).start()
await m_b.console.wait_for("netecho:", 20)
wire_b = Wire.attach(m_b)
live_b = net_views.live_rates(m_b).start()
print("live plot running")
await asyncio.to_thread(lesson.udp_burst, wire_b, 6.0)   # the cell runs on while it draws
"""


LIVE_DASHBOARD_CELL = """\
vm_b = await labkit.Machine("managed_heap", memory="256M", balloon="on").start()
await wait_console(vm_b, r"(?m)^ready heap_bytes", 60)
dash_b = await MemoryDashboard(vm_b, period=0.25).start()
display(dash_b)
print("dashboard running")
await asyncio.sleep(6)          # the cell runs on while the dashboard draws
await dash_b.stop()
await vm_b.quit()
"""


def _add_cell(page, code: str, ready: str):
    """Type ``code`` into a new cell at the end, run it (Shift-Enter) and wait until its
    output says ``ready``; returns that cell."""
    page.locator(".jp-Notebook .jp-Cell").last.click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")                          # a new cell below, selected
    page.keyboard.press("Enter")                      # edit it
    page.keyboard.insert_text(code)
    page.keyboard.press("Shift+Enter")
    cell = page.locator(".jp-CodeCell", has_text=ready).last
    cell.locator(".jp-OutputArea", has_text=ready).wait_for(timeout=60_000)
    return cell


def _rip(cell) -> str | None:
    text = cell.locator("pre", has_text="rip 0x").first.text_content(timeout=10_000) or ""
    m = re.search(r"rip (0x[0-9a-f]+)", text)
    return m.group(1) if m else None


def _step_in_the_browser(page) -> list[str | None]:
    """Lesson 02: a new cell with a fresh debugger panel stopped at main; click its stepi
    button twice in the page. Returns RIP before and after each click."""
    cell = _add_cell(page, PANEL_CELL, "panel ready")
    rips = [_rip(cell)]
    button = cell.locator("button", has_text=re.compile(r"^stepi$"))
    for _ in range(2):
        button.click()
        deadline = time.monotonic() + 20
        while _rip(cell) == rips[-1] and time.monotonic() < deadline:
            time.sleep(0.2)
        rips.append(_rip(cell))
    return rips


def _pictures(page, cell, seconds: float) -> int:
    """How many different pictures the first canvas or image in ``cell``'s output shows over
    ``seconds``."""
    seen = set()
    picture = cell.locator(".jp-OutputArea canvas, .jp-OutputArea img").first
    picture.wait_for(timeout=20_000)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        seen.add(picture.evaluate("e => e.tagName === 'CANVAS' ? e.toDataURL() : e.src"))
        time.sleep(0.25)
    return len(seen)


def _progress_full(page) -> bool:
    """Lesson 00: the build progress bar's label says what the finished build did."""
    labels = page.locator(".jp-Notebook .widget-label").all_text_contents()
    return any(re.match(r"built \d+ steps", text) for text in labels)


@pytest.mark.parametrize("name", LESSONS, ids=[n[:2] for n in LESSONS])
def test_lesson_runs_in_the_browser(lab, browser, name):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    started = time.monotonic()
    try:
        _open(page, lab, name)
        _run_all(page)
        state, images = _wait_until_run(page, RUN_TIMEOUT)
        unrun = _unrun(state["prompts"], state["busy"] == "idle")
        assert not state["errors"], f"{name}: a cell raised: {state['errors'][0]}"
        assert not unrun, f"{name}: code cells {unrun} did not run within {RUN_TIMEOUT} s"
        body = page.locator(".jp-Notebook").inner_text()
        assert "Error displaying widget" not in body, f"{name}: a widget failed to render"
        assert "Loading widget..." not in body, f"{name}: a widget never loaded"
        changing = max((len(v) for v in images.values()), default=0)
        if name.startswith("00"):
            assert _progress_full(page), f"{name}: the build progress bar did not finish"
        if name.startswith("04"):       # the memory dashboard lives across cells ...
            assert changing >= 3, (f"{name}: no live plot changed while the cells ran "
                                   f"(distinct images per canvas: "
                                   f"{[len(v) for v in images.values()]})")
            cell = _add_cell(page, LIVE_DASHBOARD_CELL, "dashboard running")
            drawn = _pictures(page, cell, 4.0)  # ... and draws while its own cell runs
            assert drawn >= 3, f"{name}: the dashboard drew {drawn} different images in 4 s"
            cell.locator(".jp-InputPrompt", has_text=re.compile(r"\[\d+\]")).wait_for(
                timeout=60_000)
        if name.startswith("03"):       # a live plot that draws while its own cell runs
            cell = _add_cell(page, LIVE_CELL, "live plot running")
            drawn = _pictures(page, cell, 4.0)
            assert drawn >= 3, f"{name}: the live plot drew {drawn} different images in 4 s"
            cell.locator(".jp-InputPrompt", has_text=re.compile(r"\[\d+\]")).wait_for(
                timeout=60_000)                    # let the cell end before the kernel does
        if name.startswith("02"):
            rips = _step_in_the_browser(page)
            assert None not in rips and len(set(rips)) == 3, \
                f"{name}: stepi in the browser did not move RIP: {rips}"
    except BaseException:
        shot = _shot(page, name.removesuffix(".ipynb"))
        print(f"screenshot: {shot}; {time.monotonic() - started:.0f} s in", file=sys.stderr)
        raise
    finally:
        page.close()
        lab.shutdown_kernels()

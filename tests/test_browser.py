"""The web demo (examples/web) in a real browser: headless Chromium, driven by Playwright,
loads the page from a local static server, takes gradient steps, and the gradient it reports
is the Python backend's."""

import os
import shutil
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from s2sad import serve

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "examples" / "web"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - .ci/run installs it
    sync_playwright = None

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or sync_playwright is None,
    reason="LOUD SKIP: the browser test needs Debian's chromium (apt-get install chromium) and "
           "the playwright wheel (pip install playwright); .ci/run installs both")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A copy of examples/web with its module built, served on 127.0.0.1."""
    folder = tmp_path_factory.mktemp("web")
    for name in ("index.html", "app.js", "build.txt", "shot.py"):
        shutil.copy(WEB / name, folder / name)
    assert serve.build(str(folder)) == 0
    os.environ["S2SAD_SERVE_QUIET"] = "1"
    httpd = serve.server(str(folder), 0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def test_the_demo_optimizes_the_shot_in_chromium(site):
    folder, url = site
    sys.path.insert(0, str(WEB))
    sys.path.insert(0, str(ROOT / "examples"))
    import shot
    from billiards import rack

    import s2sad

    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 800, "height": 700})
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(url + "?paused")
            page.wait_for_function("window.demo && window.demo.ready === true", timeout=30000)
            first = page.evaluate("demo.state.loss")
            state = page.evaluate("(() => { const s = demo.run(40); return {vx: s.vx, "
                                  "vy: s.vy, losses: s.losses, target: s.target}; })()")
            value, grad = page.evaluate(f"demo.valueAndGrad({state['vx']}, {state['vy']})")
            pixels = page.evaluate("""(() => {
                const c = document.getElementById('table');
                const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                const seen = new Set();
                for (let i = 0; i < d.length; i += 4 * 97) {
                    seen.add(d[i] << 16 | d[i + 1] << 8 | d[i + 2]);
                }
                return seen.size; })()""")
            shot_png = folder / "demo.png"
            page.screenshot(path=str(shot_png))
            readout = page.inner_text("#readout")
        finally:
            browser.close()
    assert errors == []
    losses = state["losses"]
    assert len(losses) == 41 and losses[0] == first
    assert losses[-1] < 0.5 * first, losses  # the shot got better
    assert all(b <= a * (1 + 1e-12) for a, b in zip(losses, losses[1:]))
    x0 = rack()
    n = len(x0)
    args = (state["vx"], state["vy"], x0, np.zeros((60, 2 * n)), *state["target"])
    want_value, want = s2sad.value_and_grad(shot.shoot, wrt=("vx", "vy"))(*args)
    assert value == pytest.approx(want_value, rel=1e-9, abs=1e-15)
    assert grad == pytest.approx(list(want), rel=1e-9, abs=1e-12)
    assert pixels >= 4  # the table, balls, paths, target: not a blank canvas
    assert shot_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot_png.stat().st_size > 5000
    assert readout.startswith("step 41")

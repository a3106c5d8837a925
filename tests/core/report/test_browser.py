"""The demo report in a real browser: Debian's headless Chromium loads the page, takes a
screenshot, logs no console errors, every chart has a non-zero size, and at phone width the page
does not scroll sideways (wide tables scroll in their own box).

The sizes are read by a small script injected into a test copy of the page (the real page has
no script at all); it writes them into the document title, which `--dump-dom` prints.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.core.report.conftest import DemoShop

PROBE = """<script>
window.__errors = [];
window.addEventListener("error", e => window.__errors.push(String(e.message)));
window.addEventListener("load", () => {
  const sizes = [...document.querySelectorAll("svg.chart")].map(e => {
    const r = e.getBoundingClientRect();
    return Math.round(r.width) + "x" + Math.round(r.height);
  });
  const wide = document.documentElement.scrollWidth > window.innerWidth;
  document.title = "PROBE charts=" + sizes.join(",") + " errors=" + window.__errors.length
    + " overflow=" + wide + " viewport=" + window.innerWidth;
});
</script>"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip(
            "!!! SKIPPED: headless Chromium is not installed, so the report was NOT checked in a "
            "browser. Install Debian's `chromium` (`.ci/run` does it with apt-get) to run it."
        )
    return found


def browse(page: Path, *args: str, width: int = 1280) -> subprocess.CompletedProcess[str]:
    command = [
        chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-extensions", "--enable-logging=stderr", "--v=0",
        f"--window-size={width},2000", "--virtual-time-budget=5000", *args, page.as_uri(),
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def probe(demo: DemoShop, tmp_path: Path, width: int) -> dict[str, str]:
    page = demo.report.read_text()
    copy = tmp_path / f"probe-{width}.html"
    copy.write_text(page.replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
    done = browse(copy, "--dump-dom", width=width)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not console_errors(done.stderr)
    title = re.search(r"<title>PROBE ([^<]*)</title>", done.stdout)
    assert title, "the page did not finish loading"
    return dict(part.split("=", 1) for part in title[1].split(" "))


def test_report_loads_in_chromium_without_errors_and_charts_have_size(
    demo_shop: DemoShop, tmp_path: Path
) -> None:
    shot = tmp_path / "report.png"
    done = browse(demo_shop.report, f"--screenshot={shot}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert console_errors(done.stderr) == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    result = probe(demo_shop, tmp_path, 1280)
    sizes = [tuple(int(v) for v in s.split("x")) for s in result["charts"].split(",")]
    expected = demo_shop.report.read_text().count('class="chart"')
    assert len(sizes) == expected >= 6
    assert all(w > 100 and h > 50 for w, h in sizes), sizes
    assert result["errors"] == "0"


def test_report_fits_a_phone_screen(demo_shop: DemoShop, tmp_path: Path) -> None:
    """Asked for 390 px (a phone); headless Chromium's window is at least about 500 px wide,
    so the charts are checked against the viewport it really had."""
    result = probe(demo_shop, tmp_path, 390)
    viewport = int(result["viewport"])
    assert viewport < 640  # below the page's phone breakpoint (40rem)
    sizes = [tuple(int(v) for v in s.split("x")) for s in result["charts"].split(",")]
    assert all(0 < w <= viewport and h > 0 for w, h in sizes), (viewport, sizes)
    assert result["overflow"] == "false"

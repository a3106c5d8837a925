"""The README shows the demo report's screenshot (a PNG in the repository) and says how to
regenerate it; the make target that does so exists; CI installs Chromium for the browser test
(issue 16, "Done when")."""

from __future__ import annotations

import re
import struct

from tests.paths import ROOT

PNG = ROOT / "docs" / "report.png"


def test_readme_shows_the_screenshot_and_how_to_regenerate_it() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(r"!\[[^\]]*\]\(docs/report\.png\)", readme)
    assert "make screenshot" in readme
    data = PNG.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    assert width >= 800 and height >= 600, (width, height)


def test_make_screenshot_renders_the_demo_report_in_headless_chromium() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    target = re.search(r"^screenshot:(.*)\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert target, "no screenshot target"
    assert "demo" in target[1].split()
    recipe = target[2]
    assert "--headless" in recipe and "--screenshot=docs/report.png" in recipe
    assert "demo-out/report.html" in recipe


def test_ci_installs_chromium_when_missing_then_runs_the_tests() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "command -v chromium" in script
    assert re.search(r"apt-get install .*chromium", script)
    assert script.rstrip().splitlines()[-1] == "make test"

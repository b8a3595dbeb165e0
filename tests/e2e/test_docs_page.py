"""The docs page in a real browser: headless Chromium renders every operation of openapi.json.

Chromium is driven by its command line (no extra Python dependency): `--dump-dom` prints the
DOM once the page settled, `--screenshot` writes a PNG. `--virtual-time-budget` is what lets
the page settle: virtual time does not advance while a request is pending, so the DOM is taken
after the bundle, the document and Swagger UI's rendering, however slow the machine.

Chromium comes from Debian's package (`make chromium`, scripts/ensure-chromium.sh). Without
it the test is skipped on a developer's machine and fails in CI (env CI set), where
.ci/run installs it.

The screenshot is kept in build/artifacts/docs-page.png (build/ is git-ignored).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests
from PIL import Image

from tests.support.local_stack import ROOT, LocalStack, running_stack

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACT = ROOT / "build" / "artifacts" / "docs-page.png"
WINDOW = (1280, 2400)
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
# Virtual milliseconds: spent instantly unless the page is really busy (it takes ~3 s of real time).
VIRTUAL_TIME_MS = 30_000
TIMEOUT_SECONDS = 120
# A closed network: every background service of Chromium would only try, fail and log.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    # The page's console (a Content-Security-Policy violation, a script error) goes to stderr.
    "--enable-logging=stderr",
    "--v=0",
    f"--virtual-time-budget={VIRTUAL_TIME_MS}",
)


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: `make chromium` installs Debian's chromium package"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (.ci/run should have)")
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="module")
def stack(chromium: Path) -> Iterator[LocalStack]:
    # No demo catalog: the page shows the document, not data.
    with running_stack(demo=False) as local:
        yield local


def run_chromium(chromium: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # A fresh, empty profile per run: nothing cached from an earlier run, nothing to sync.
    profile.mkdir(parents=True)
    done = subprocess.run(
        [str(chromium), *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    assert done.returncode == 0, f"chromium exited with {done.returncode}:\n{done.stderr[-4000:]}"
    return done


# Console messages that mean the page is broken: a blocked script or style, a script error, a
# file that did not load. (Swagger UI's own warnings, about deep links say, are no failure.)
BROKEN = ("Content Security Policy", "Uncaught", "Failed to load")


def console(stderr: str) -> list[str]:
    """The page's console messages among Chromium's log lines."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def broken(stderr: str) -> list[str]:
    return [line for line in console(stderr) if any(sign in line for sign in BROKEN)]


class Operations(HTMLParser):
    """The operations Swagger UI rendered, as (METHOD, path), in page order."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []
        self.errors = 0
        self._method: str | None = None
        self._in_method = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        classes = (values.get("class") or "").split()
        if "errors-wrapper" in classes:  # Swagger UI's box for a document it could not read
            self.errors += 1
        self._in_method = "opblock-summary-method" in classes
        if "opblock-summary-path" in classes and self._method is not None:
            self.found.append((self._method, values.get("data-path") or ""))
            self._method = None

    def handle_data(self, data: str) -> None:
        if self._in_method:
            self._method = data.strip().upper()
            self._in_method = False


def document_operations(stack: LocalStack) -> list[tuple[str, str]]:
    served = requests.get(f"{stack.url}/openapi.json", timeout=30)
    assert served.status_code == 200, served.text
    paths = served.json()["paths"]
    return [(method.upper(), path) for path, item in paths.items() for method in item if method in METHODS]


@pytest.mark.parametrize("page", ["docs", "docs/"], ids=["docs", "trailing-slash"])
def test_every_operation_renders(stack: LocalStack, chromium: Path, tmp_path: Path, page: str) -> None:
    expected = document_operations(stack)
    assert ("POST", "/api/v1/products/") in expected

    done = run_chromium(chromium, tmp_path / "profile", "--dump-dom", f"{stack.url}/{page}")

    parsed = Operations()
    parsed.feed(done.stdout)
    assert parsed.errors == 0, f"Swagger UI shows an error box:\n{done.stdout[-4000:]}"
    assert sorted(parsed.found) == sorted(expected), (
        f"rendered {len(parsed.found)} of {len(expected)} operations\n"
        f"missing: {sorted(set(expected) - set(parsed.found))}\n"
        f"console: {console(done.stderr)}"
    )
    # The policy blocks nothing the page needs: a blocked script or style would say so here.
    assert broken(done.stderr) == []
    print(f"docs page ({page}): {len(parsed.found)} operations rendered")


def test_screenshot(stack: LocalStack, chromium: Path, tmp_path: Path) -> None:
    shot = tmp_path / "docs-page.png"
    width, height = WINDOW
    run_chromium(
        chromium, tmp_path / "profile", f"--screenshot={shot}", f"--window-size={width},{height}", f"{stack.url}/docs"
    )

    with Image.open(shot) as image:
        assert image.size == WINDOW
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
    # A blank page is one colour; Swagger UI's operation list is many (or more than counted).
    assert colours is None or len(colours) > 50, f"the screenshot looks blank: {len(colours)} colours"
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_bytes(shot.read_bytes())
    print(f"docs page screenshot: {ARTIFACT}")

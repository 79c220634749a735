"""The README's picture of the app, docs/app.png: the app started on a free port, opened in
Chromium (Debian's /usr/bin/chromium through Playwright, as the browser test does), a grid of
samples drawn on the Sample tab with seed 0, and the window photographed.

    python bench/screenshot.py [--out docs/app.png] [--url http://127.0.0.1:7860]

Run it again after a change to the page to keep the README's picture up to date.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app_latency import ROOT, served_app, wait_for

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1280, "height": 860}


def take(url: str, out: Path, timeout_ms: int = 120_000) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(timeout_ms)
            page.goto(url)
            page.wait_for_selector("#sample-button")
            page.get_by_label("Randomize seed").uncheck()  # seed 0: the same picture every time
            page.click("#sample-button")
            page.wait_for_function("""() => { const img = document.querySelector('#sample-output img');
                                              return img && img.complete && img.naturalWidth > 0; }""")
            page.wait_for_timeout(500)  # let the note and the seed settle
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out))
        finally:
            browser.close()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "app.png")
    p.add_argument("--url", help="an app already running (default: start app.py on a free port)")
    args = p.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: apt-get install -y chromium fonts-liberation", file=sys.stderr)
        return 1
    with served_app(args.url, ROOT / "app.py") as url:
        wait_for(url)
        take(url, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

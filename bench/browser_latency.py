"""The app's response times in a real browser: from a click on an action's button to every
output image of that action loaded (Debian's Chromium through Playwright, headless), on the
example inputs the page starts with. Median of `--repeats` after one warm-up click per action.

    python bench/browser_latency.py [--repeats 5] [--url http://127.0.0.1:7860 | --app PATH/app.py]

Unlike `bench/app_latency.py` (gradio_client, which uploads the inputs and downloads each result
file one after another), this is what a visitor waits for: the page's own queue round trip (server-sent
events) and the browser's parallel image fetches. Times include Playwright's polling (one
animation frame, about 16 ms). A benchmark, not a test: run it on an idle machine.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from app_latency import ROOT, served_app, wait_for  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

# action: (tab to open or None, button, CSS selector of the output images, how many)
ACTIONS = {
    "64-sample grid": (None, "#sample-button", "#sample-output img", 1),
    "per-scale row": ("Per-scale reconstruction", "#per-scale-button", "#per-scale-output .gallery-item img", 4),
    "likelihood": ("Likelihood", "#likelihood-button", "#likelihood-heatmap img, #likelihood-histogram img", 2),
    "manifold 5x5": ("Interpolate", "#manifold-button", "#manifold-output img", 1),
    "completion (the tab's defaults)": ("Complete", "#complete-button", "#complete-output img, #complete-curve img", 2),
}

ALL_NEW_AND_LOADED = """([selector, count, previous]) => {
    const images = [...document.querySelectorAll(selector)];
    return images.length === count && images.every(
        img => img.src && !previous.includes(img.src) && img.complete && img.naturalWidth > 0);
}"""


def current_sources(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(selector, "images => images.map(img => img.src)")


def click_and_wait(page, button: str, selector: str, count: int) -> float:
    previous = current_sources(page, selector)
    start = time.perf_counter()
    page.locator(button).click()
    page.wait_for_function(ALL_NEW_AND_LOADED, arg=[selector, count, previous], polling="raf")
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url")
    p.add_argument("--app", type=Path, default=ROOT / "app.py", help="the app.py to start (without --url)")
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    from playwright.sync_api import sync_playwright

    with served_app(args.url, args.app) as url:
        wait_for(url)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(120_000)
                page.goto(url)
                page.wait_for_selector("#sample-button")
                print(f"default model, {args.url or args.app.resolve()}, Chromium, median of {args.repeats} "
                      f"after a warm-up click")
                print("| action | median (s) | min (s) |")
                print("|---|---|---|")
                for name, (tab, button, selector, count) in ACTIONS.items():
                    if tab:
                        page.get_by_role("tab", name=tab).click()
                    click_and_wait(page, button, selector, count)
                    times = [click_and_wait(page, button, selector, count) for _ in range(args.repeats)]
                    print(f"| {name} | {statistics.median(times):.3f} | {min(times):.3f} |", flush=True)
            finally:
                browser.close()


if __name__ == "__main__":
    main()

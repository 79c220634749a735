"""The app's response times in a real browser: from a click on an action's button to every
output image of that action loaded (Debian's Chromium through Playwright, headless), on the
example inputs the page starts with. Median of `--repeats` after one warm-up click per action.

    python bench/browser_latency.py [--repeats 5] [--url http://127.0.0.1:7860 | --app PATH/app.py]

Unlike `bench/app_latency.py` (gradio_client, which uploads the inputs and downloads each result
file one after another), this is what a visitor waits for: the page's own queue round trip (server-sent
events) and the browser's parallel image fetches. The page times itself (`performance.now()`):
from the button's click event, sent by a script in the page as a visitor's click would be (no
Playwright actionability checks or round trips inside the figure), until every output image is
new, loaded and decoded, checked every 2 ms. A benchmark, not a test: run it on an idle machine.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from app_latency import ROOT, served_app, wait_for  # noqa: E402
import results  # noqa: E402  (bench/results.py: --record writes RESULTS.md)
from browser import open_tab, opened_page  # noqa: E402  (bench/browser.py: Chromium, shared with the tests)

# action: (tab to open or None, button, CSS selector of the output images, how many)
ACTIONS = {
    "64-sample grid": (None, "#sample-button", "#sample-output img", 1),
    "per-scale row": ("Per-scale reconstruction", "#per-scale-button", "#per-scale-output .gallery-item img", 4),
    "likelihood": ("Likelihood", "#likelihood-button", "#likelihood-heatmap img, #likelihood-histogram img", 2),
    "manifold 5x5": ("Interpolate", "#manifold-button", "#manifold-output img", 1),
    "completion (the tab's defaults)": ("Complete", "#complete-button", "#complete-output img, #complete-curve img", 2),
    "completions, sampled (the tab's defaults)": ("Complete", "#completions-button", "#completions-output img", 5),
}

CLICK_AND_TIME = """([button, selector, count]) => new Promise((resolve, reject) => {
    const previous = [...document.querySelectorAll(selector)].map(img => img.src);
    const done = () => {
        const images = [...document.querySelectorAll(selector)];
        return images.length === count && images.every(
            img => img.src && !previous.includes(img.src) && img.complete && img.naturalWidth > 0);
    };
    const start = performance.now();
    document.querySelector(button).click();
    const check = () => {
        if (done()) resolve((performance.now() - start) / 1000);
        else if (performance.now() - start > 120000) reject(new Error("no new images after 120 s"));
        else setTimeout(check, 2);
    };
    setTimeout(check, 2);
})"""


def click_and_wait(page, button: str, selector: str, count: int) -> float:
    """Seconds from the button's click to `count` new output images loaded, by the page's clock."""
    page.wait_for_selector(button)
    return page.evaluate(CLICK_AND_TIME, [button, selector, count])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url")
    p.add_argument("--app", type=Path, default=ROOT / "app.py", help="the app.py to start (without --url)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--only", nargs="+", choices=list(ACTIONS), metavar="ACTION",
                   help=f"time only these actions (of: {', '.join(ACTIONS)})")
    args = p.parse_args()
    with served_app(args.url, args.app) as url:
        wait_for(url)
        with opened_page(url, {"width": 1400, "height": 1000}, 120_000) as page:
            print(f"default model, {args.url or args.app.resolve()}, Chromium, median of {args.repeats} "
                  f"after a warm-up click")
            print("| action | median (s) | min (s) |")
            print("|---|---|---|")
            for name, (tab, button, selector, count) in ACTIONS.items():
                if args.only and name not in args.only:
                    continue
                if tab:
                    open_tab(page, tab)
                click_and_wait(page, button, selector, count)
                times = [click_and_wait(page, button, selector, count) for _ in range(args.repeats)]
                print(f"| {name} | {statistics.median(times):.3f} | {min(times):.3f} |", flush=True)


if __name__ == "__main__":
    sys.exit(results.run_recorded('The app in Chromium', main))

"""Driving the app's page in Chromium: Debian's /usr/bin/chromium through Playwright (Python).
Shared by bench/screenshot.py, bench/browser_latency.py and tests/explorer/test_browser.py (which
loads this file by its path). Playwright is imported only when a page is opened.
"""
from __future__ import annotations

import contextlib
import re

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
MISSING = f"{CHROMIUM} is missing: apt-get install -y chromium fonts-liberation"


@contextlib.contextmanager
def opened_page(url: str, viewport: dict, timeout_ms: float):
    """A Chromium page on the app at `url`, loaded (its Sample button shown); closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport=viewport)
            page.set_default_timeout(timeout_ms)
            page.goto(url)
            page.wait_for_selector("#sample-button")
            yield page
        finally:
            browser.close()


def open_tab(page, name: str) -> None:
    """Click the tab; one that does not fit the tab bar is in Gradio's "More tabs" menu."""
    tab = page.get_by_role("tab", name=name)
    if tab.count():
        tab.click()
        return
    page.get_by_role("button", name="More tabs").click()
    page.locator(".overflow-dropdown button", has_text=re.compile(f"^{re.escape(name)}$")).click()


def image_src(page, selector: str) -> str | None:
    img = page.locator(f"{selector} img").first
    return img.get_attribute("src") if img.count() else None


def wait_for_new_image(page, selector: str, previous: str | None = None, timeout: float | None = None) -> str:
    """Wait until `selector` shows an <img> whose src differs from `previous`; returns the src."""
    page.wait_for_function(
        """([sel, prev]) => { const img = document.querySelector(sel + ' img');
                               return img && img.src && img.src !== prev && img.complete && img.naturalWidth > 0; }""",
        arg=[selector, previous or ""], timeout=timeout)
    return image_src(page, selector)


def pick_example(page, gallery: str, index: int, image: str) -> None:
    """Click example `index`; the input shows it (an example already shown before stays as it is,
    so a caller may pick what an earlier one left in place)."""
    from playwright.sync_api import TimeoutError

    before = image_src(page, image)
    page.locator(f"{gallery} .gallery-item").nth(index).click()
    if before is None:
        wait_for_new_image(page, image)
        return
    try:
        wait_for_new_image(page, image, before, timeout=5_000)
    except TimeoutError:
        assert image_src(page, image) == before, "the input changed to something else"


def example_index(page, gallery: str, file_name: str) -> int:
    """The position of the example `file_name` (e.g. "digit7_0.png") in an example gallery."""
    page.wait_for_selector(f"{gallery} .gallery-item img")
    sources = [img.get_attribute("src") or "" for img in page.locator(f"{gallery} .gallery-item img").all()]
    found = [i for i, src in enumerate(sources) if src.rsplit("/", 1)[-1] == file_name]
    if not found:
        raise LookupError(f"{gallery} has no example {file_name}: {[s.rsplit('/', 1)[-1] for s in sources]}")
    return found[0]


def choose_model(page, name: str) -> None:
    """Pick a bundled model in the model menu (nothing to do when it is already picked)."""
    if page.locator("#model input").input_value() != name:
        page.locator("#model input").click()
        page.get_by_role("option", name=name, exact=True).click()
        # the description starts "NAME (bundled)": a bare NAME would also match "mnist-cond" for "mnist"
        page.locator(f"#model-description :text('{name} (bundled)')").first.wait_for()

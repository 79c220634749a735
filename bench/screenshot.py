"""The README's pictures of the app, taken in one launch: the app started on a free port, opened in
Chromium (Debian's /usr/bin/chromium through Playwright, with the browser test's helpers in
bench/browser.py), each tab run on a bundled example and photographed.

- `app`: docs/app.png, the window with a grid of samples drawn on the Sample tab with seed 0;
- `layers`: docs/views/layers.png, the Layer by layer tab (/layers) encoding an mnist example 4;
- `directions`: docs/views/directions.png, the Directions tab (/direction) moving an mnist 9
  towards a 4 (t from 0 to 1 times the difference of the two classes' mean latents, every scale);
- `restyle`: docs/views/restyle.png, the Restyle tab (/restyle) on mnist-cond with an example 3.

The three views that look inside the flow are cropped to the open tab's content with a 12 px
margin (no header, model picker, tab bar or footer): 1,240 px wide, Gradio's page width. Every
picture is taken by default, in one launch of the app and one browser; `--only` picks some. A PNG
over 150 kB is reduced to 256 colours (without dithering) where that makes it smaller.

    python bench/screenshot.py [--only app layers directions restyle] [--out docs/app.png]
                               [--views-dir docs/views] [--url http://127.0.0.1:7860]

Run it again after a change to the page to keep the README's pictures up to date.
"""
from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from app_latency import ROOT, served_app, wait_for
from browser import CHROMIUM, MISSING, choose_model, example_index, image_src, open_tab, opened_page, \
    pick_example, wait_for_new_image

VIEWPORT = {"width": 1280, "height": 860}  # docs/app.png is the window; a view is its tab however tall
MARGIN = 12  # px of the page kept around a tab's content
TIMEOUT_MS = 300_000  # the CPU may be shared with training runs
COMPACT_ABOVE = 150_000  # bytes
DIRECTION = ("9", "4")  # mnist's 9 -> 4 reads plainly at every step (its default 7 -> 1 loses the 7's bar
                       # but never draws a clean 1)
PICTURES = ("app", "layers", "directions", "restyle")


def settle(page, where: str = "body") -> None:
    """Wait until no progress indicator shows in the first shown element that `where` selects and
    every image in it has loaded."""
    page.wait_for_function(
        """(sel) => { const root = [...document.querySelectorAll(sel)].find(e => e.offsetWidth > 0);
                      if (!root) return false;
                      const busy = [...root.querySelectorAll('.progress-text, .eta-bar, .progress-level, .loader')]
                          .some(e => e.offsetParent !== null);
                      // a lazy image scrolled out of its gallery's view loads only when scrolled to
                      const inView = (img) => {
                          const r = img.getBoundingClientRect();
                          for (let e = img.parentElement; e && e !== root; e = e.parentElement) {
                              if (!/auto|scroll/.test(getComputedStyle(e).overflowY)) continue;
                              const v = e.getBoundingClientRect();
                              if (r.bottom <= v.top || r.top >= v.bottom) return false;
                          }
                          return true; };
                      const loading = [...root.querySelectorAll('img')]
                          .some(i => !i.complete && (i.loading !== 'lazy' || inView(i)));
                      return !busy && !loading; }""", arg=where, timeout=60_000)  # the results are in by now
    page.wait_for_timeout(700)  # the last notes and layout settle


def photograph_panel(page, out: Path) -> None:
    """The open tab's content, with a margin of the page around it."""
    settle(page, ".tabitem")
    page.mouse.move(0, 0)  # no hover highlight on the last control clicked
    page.evaluate("window.scrollTo(0, 0)")
    box = page.locator(".tabitem:visible").first.bounding_box()  # page coordinates, scrolled to the top
    width, height = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    left, top = max(box["x"] - MARGIN, 0), max(box["y"] - MARGIN, 0)
    clip = {"x": left, "y": top, "width": min(box["x"] + box["width"] + MARGIN, width) - left,
            "height": min(box["y"] + box["height"] + MARGIN, height) - top}
    save(page.screenshot(full_page=True, clip=clip, animations="disabled"), out)


def compact(png: bytes) -> bytes:
    """`png`, or the same picture in 256 colours where that is smaller (only for large files)."""
    if len(png) <= COMPACT_ABOVE:
        return png
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        fewer = image.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    fewer.save(buffer, format="PNG", optimize=True)
    return min(png, buffer.getvalue(), key=len)


def save(png: bytes, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(compact(png))
    print(f"wrote {out} ({out.stat().st_size / 1000:.0f} kB)", flush=True)


def pick(page, prefix: str, file_name: str) -> None:
    """The example `file_name` into the tab's image input (`#PREFIX-examples` into `#PREFIX-image`)."""
    gallery, image = f"#{prefix}-examples", f"#{prefix}-image"
    pick_example(page, gallery, example_index(page, gallery, file_name), image)
    assert image_src(page, image).endswith("/" + file_name), image_src(page, image)


def choose(page, dropdown: str, option: str) -> None:
    page.locator(f"{dropdown} input").click()
    page.get_by_role("option", name=option, exact=True).click()
    page.wait_for_function("([sel, value]) => document.querySelector(sel + ' input').value === value",
                           arg=[dropdown, option])


def run_and_wait(page, button: str, output: str) -> None:
    """Click `button` and wait for a new image in `output`."""
    before = image_src(page, output)
    page.locator(button).click()
    wait_for_new_image(page, output, before)


def sample_window(page, out: Path) -> None:
    choose_model(page, "mnist")
    open_tab(page, "Sample")
    page.get_by_label("Randomize seed").uncheck()  # seed 0: the same picture every time
    run_and_wait(page, "#sample-button", "#sample-output")
    settle(page)  # the note and the seed
    page.mouse.move(0, 0)
    save(page.screenshot(animations="disabled"), out)


def layers_view(page, out: Path) -> None:
    choose_model(page, "mnist")
    open_tab(page, "Layer by layer")
    pick(page, "layers", "digit4_0.png")
    page.locator("#layers-direction").get_by_text("encode this image").click()
    page.locator("#layers-button").click()
    page.wait_for_function("document.querySelectorAll('#layers-output .gallery-item img').length > 20")
    page.wait_for_selector("#layers-note :text('model.log_prob')")
    page.wait_for_selector("#layers-curve img")
    photograph_panel(page, out)


def directions_view(page, out: Path) -> None:
    choose_model(page, "mnist")
    open_tab(page, "Directions")
    source, target = DIRECTION
    pick(page, "direction", f"digit{source}_0.png")
    choose(page, "#direction-from", source)
    choose(page, "#direction-to", target)
    run_and_wait(page, "#direction-button", "#direction-output")  # t from 0 to 1, every scale: the defaults
    page.wait_for_selector(f"#direction-note :text('mean[{target}] − mean[{source}]')")
    photograph_panel(page, out)


def restyle_view(page, out: Path) -> None:
    choose_model(page, "mnist-cond")
    open_tab(page, "Restyle")
    page.locator("#restyle-needs").wait_for(state="hidden")
    pick(page, "restyle", "digit3_0.png")
    run_and_wait(page, "#restyle-button", "#restyle-output")
    page.wait_for_selector("#restyle-note :text('Encoded as')")
    photograph_panel(page, out)


def take(url: str, targets: dict[str, Path]) -> None:
    """Each picture of `targets` (name in PICTURES -> path), in PICTURES' order, in one browser."""
    takers = {"app": sample_window, "layers": layers_view, "directions": directions_view, "restyle": restyle_view}
    with opened_page(url, VIEWPORT, TIMEOUT_MS) as page:
        for name in PICTURES:
            if name in targets:
                takers[name](page, targets[name])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="+", choices=PICTURES, default=list(PICTURES), metavar="PICTURE",
                   help=f"take only these pictures (of: {', '.join(PICTURES)}; default: all)")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "app.png", help="the Sample tab's picture")
    p.add_argument("--views-dir", type=Path, default=ROOT / "docs" / "views",
                   help="where layers.png, directions.png and restyle.png go")
    p.add_argument("--url", help="an app already running (default: start app.py on a free port)")
    args = p.parse_args()
    if not Path(CHROMIUM).exists():
        print(MISSING, file=sys.stderr)
        return 1
    targets = {name: args.out if name == "app" else args.views_dir / f"{name}.png" for name in args.only}
    with served_app(args.url, ROOT / "app.py") as url:
        wait_for(url)
        take(url, targets)
    return 0


if __name__ == "__main__":
    sys.exit(main())

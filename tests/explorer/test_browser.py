"""The app in a real Chromium (Debian's /usr/bin/chromium through Playwright): every tab, an
uploaded photograph, example picking, the buttons, a model switch and an error message.
Output images are fetched from their <img> src and checked for content; screenshots go to
test-artifacts/ (gitignored) for a human look. The page-driving helpers (opening Chromium, tabs,
examples, the model menu) are bench/browser.py's, shared with bench/screenshot.py.
"""
from __future__ import annotations

import importlib.util
import io
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


pytestmark = [pytest.mark.slow, pytest.mark.browser,
              pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")]

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("bench_browser", ROOT / "bench" / "browser.py")
browser = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(browser)
open_tab, image_src, wait_for_new_image, pick_example, choose_model = (
    browser.open_tab, browser.image_src, browser.wait_for_new_image, browser.pick_example, browser.choose_model)

if not os.path.exists(browser.CHROMIUM):
    pytest.skip(f"{browser.CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium "
                f"fonts-liberation) to run the browser tests", allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")

ARTIFACTS = ROOT / "test-artifacts"
TIMEOUT = 90_000  # ms; the CPU may be shared with training runs


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    import skimage.data

    path = tmp_path_factory.mktemp("uploads") / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).save(path)
    return path


@pytest.fixture(scope="module")
def page(app_url):
    ARTIFACTS.mkdir(exist_ok=True)
    with browser.opened_page(app_url, {"width": 1400, "height": 1000}, TIMEOUT) as page:
        yield page


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def fetch(page, src: str) -> np.ndarray:
    response = page.request.get(src)
    assert response.ok, (src, response.status)
    with Image.open(io.BytesIO(response.body())) as image:
        return np.asarray(image.convert("RGB"))


def assert_content(array: np.ndarray, min_side: int = 100) -> None:
    assert min(array.shape[:2]) >= min_side, array.shape
    assert array.std() > 5, f"blank image (std {array.std():.2f})"


def set_slider(page, label: str, value) -> None:
    """Type `value` into the number box of the slider labelled `label`."""
    box = page.get_by_label(f"number input for {label}")
    box.fill(str(value))
    box.press("Enter")


def upload(page, selector: str, path: Path) -> None:
    before = image_src(page, selector)
    page.locator(f"{selector} input[type=file]").set_input_files(str(path))
    wait_for_new_image(page, selector, before)
    assert path.name.split(".")[0] in image_src(page, selector)


def assert_captions_under_pictures(page, gallery: str) -> None:
    """Each output caption sits under its picture, not over it, and shows whole (wrapped, not cut
    with an ellipsis), and the picture keeps its full width and proportions: Gradio's default
    overlays a one-line caption on the picture's bottom. Only pictures already loaded are measured
    (those scrolled out of a gallery's view load lazily)."""
    page.wait_for_function("""gallery => [...document.querySelectorAll(gallery + ' .thumbnail-item img')]
        .filter(img => img.complete && img.naturalWidth > 0).length >= 3""", arg=gallery)
    boxes = page.evaluate("""gallery => [...document.querySelectorAll(gallery + ' .thumbnail-item')].map(t => {
        const img = t.querySelector('img'), box = img.getBoundingClientRect(), cap = t.querySelector('.caption-label');
        return {text: cap.innerText, loaded: img.complete && img.naturalWidth > 0, item_width: t.clientWidth,
                img_width: box.width, img_height: box.height, proportional_height: box.width * img.naturalHeight / img.naturalWidth,
                img_bottom: box.bottom, cap_top: cap.getBoundingClientRect().top, cut: cap.scrollWidth > cap.clientWidth + 1};
    }).filter(box => box.loaded)""", gallery)
    for box in boxes:
        assert box["cap_top"] >= box["img_bottom"] - 1, box
        assert not box["cut"], box
        assert box["img_width"] >= box["item_width"] - 2, box  # the picture is not squeezed by its caption
        assert abs(box["img_height"] - box["proportional_height"]) <= 2, box


# ----------------------------------------------------------------------------- tabs
def test_sample_tab(page):
    first = image_src(page, "#sample-output")  # the page opens with a grid (first visit)
    page.locator("#sample-button").click()
    src = wait_for_new_image(page, "#sample-output", first)
    grid = fetch(page, src)
    assert_content(grid, 400)
    # randomized seed: the seed box now shows the seed that was used
    shot(page, "01-sample")
    page.locator("#sample-button").click()
    assert_content(fetch(page, wait_for_new_image(page, "#sample-output", src)), 400)


def test_interpolate_tab(page, photo):
    choose_model(page, "mnist")  # the examples and figures below are the digit model's
    open_tab(page, "Interpolate")
    page.wait_for_selector("#interpolate-examples .gallery-item")
    pick_example(page, "#interpolate-examples", 14, "#corner1")  # fills corner 1 (the default target)
    assert "digit8" in image_src(page, "#corner1")
    upload(page, "#corner2", photo)
    page.locator("#manifold-button").click()
    assert_content(fetch(page, wait_for_new_image(page, "#manifold-output")), 300)
    page.locator("#interpolate-button").click()
    row = fetch(page, wait_for_new_image(page, "#interpolate-output"))
    assert row.shape[1] > 4 * row.shape[0] and row.std() > 5  # one row of 8 steps
    shot(page, "02-interpolate")


def test_animate_latent_walk(page):
    open_tab(page, "Interpolate")
    page.get_by_text("Animate a latent walk (GIF / WebP)").click()
    page.locator("#animate-button").click()
    src = wait_for_new_image(page, "#animate-output")
    response = page.request.get(src)
    assert response.ok
    with Image.open(io.BytesIO(response.body())) as animation:
        assert animation.format == "GIF" and animation.n_frames == 48  # the default frame count
        animation.seek(24)
        assert np.asarray(animation.convert("L")).std() > 5
    page.wait_for_selector("#animate-note :text('48 frames')")
    assert page.locator("#animate-file a").count() >= 1  # the file to download
    shot(page, "08-animate")


def test_per_scale_tab(page, photo):
    open_tab(page, "Per-scale reconstruction")
    upload(page, "#per-scale-image", photo)
    page.locator("#per-scale-button").click()
    page.wait_for_function("document.querySelectorAll('#per-scale-output .gallery-item img').length === 4")
    for img in page.locator("#per-scale-output .gallery-item img").all():
        assert_content(fetch(page, img.get_attribute("src")), 200)
    page.wait_for_selector("#per-scale-note :text('Round trip')")
    assert re.search(r"= \d\.\d\de-0[5-9]", page.locator("#per-scale-note").inner_text())
    assert_captions_under_pictures(page, "#per-scale-output")
    shot(page, "03-per-scale")


def test_mix_scales_tab(page, photo):
    choose_model(page, "mnist")  # the examples and figures below are the digit model's
    open_tab(page, "Mix scales")
    page.wait_for_selector("#mix-examples .gallery-item")
    pick_example(page, "#mix-examples", 6, "#mix-a")  # fills A, then B becomes the target
    pick_example(page, "#mix-examples", 15, "#mix-b")
    assert "digit3" in image_src(page, "#mix-a") and "digit9" in image_src(page, "#mix-b")
    page.locator("#mix-button").click()
    page.wait_for_function("document.querySelectorAll('#mix-output .gallery-item img').length === 5")
    pictures = [fetch(page, img.get_attribute("src")) for img in page.locator("#mix-output .gallery-item img").all()]
    for picture in pictures:
        assert_content(picture, 200)
    assert np.abs(pictures[0].astype(int) - pictures[2]).max() <= 1  # k = all scales: A itself
    assert np.abs(pictures[1].astype(int) - pictures[4]).max() <= 1  # k = 0: B itself
    assert "k = 1: 1 coarse A + 1 fine B" in page.locator("#mix-output").inner_text()
    shot(page, "09-mix-scales")


def test_likelihood_tab(page):
    choose_model(page, "mnist")  # the examples and figures below are the digit model's
    open_tab(page, "Likelihood")
    page.wait_for_selector("#likelihood-examples .gallery-item")
    pick_example(page, "#likelihood-examples", 5, "#likelihood-image")
    assert "digit2_1" in image_src(page, "#likelihood-image")
    opening_heat, opening_histogram = image_src(page, "#likelihood-heatmap"), image_src(page, "#likelihood-histogram")
    page.locator("#likelihood-button").click()
    heat = fetch(page, wait_for_new_image(page, "#likelihood-heatmap", opening_heat))
    assert heat.shape == (400, 800, 3) and heat.std() > 5
    assert_content(fetch(page, wait_for_new_image(page, "#likelihood-histogram", opening_histogram)), 200)
    bpd = float(page.locator("#likelihood-bpd input").input_value())
    assert 0 < bpd < 20
    assert f"{bpd:.4f} bits/dim" in page.locator("#likelihood-note").inner_text()
    assert "total (bits/dim)" in page.locator("#likelihood-breakdown").inner_text()
    sizes = page.locator("#likelihood-sizes").inner_text()
    assert "PNG (lossless)" in sizes and "WebP (lossless)" in sizes and "flow" in sizes
    assert not page.locator("#likelihood-suggestion-button").is_visible()  # a digit on mnist: nothing to suggest
    shot(page, "04-likelihood")


def test_complete_tab(page, photo):
    open_tab(page, "Complete")
    preview = wait_for_new_image(page, "#complete-preview")  # shown on load
    upload(page, "#complete-image", photo)
    wait_for_new_image(page, "#complete-preview", preview)  # redrawn for the new image
    page.locator("#complete-button").click()
    assert_content(fetch(page, wait_for_new_image(page, "#complete-output")), 200)
    assert_content(fetch(page, wait_for_new_image(page, "#complete-curve")), 200)
    assert "Filled" in page.locator("#complete-note").inner_text()
    shot(page, "05-complete")


def another_page(page):
    """Another page on the app in the same browser (closed by the caller)."""
    other = page.context.browser.new_page(viewport=page.viewport_size)
    other.set_default_timeout(TIMEOUT)
    other.goto(page.url)
    other.wait_for_selector("#sample-button")
    return other


@pytest.fixture
def own_page(page):
    """A page on the app for one test alone, closed after it."""
    other = another_page(page)
    yield other
    other.close()


@pytest.fixture(scope="module")
def conditional_page(page):
    """The page of the tests on the class-conditional model. A model switch updates every tab visited
    before on its page: on the page of every other test, a switch took 5-8x longer."""
    other = another_page(page)
    yield other
    other.close()


def test_complete_with_the_brush_and_sampled_completions(own_page):
    # on a page of its own: the brush's canvas, once shown, keeps Chromium busy whenever the model
    # changes (every later test on the page ran 3-5x slower)
    page = own_page
    open_tab(page, "Complete")
    page.locator("#complete-region").get_by_test_id("brush-radio-label").click()
    canvas = page.locator("#complete-brush canvas").first
    canvas.wait_for(state="visible")
    page.wait_for_timeout(1500)  # the background image is drawn
    page.locator("#complete-brush button[aria-label='Brush']").click()  # the tool must be picked to paint
    box = canvas.bounding_box()
    for row in (0.62, 0.7, 0.78):  # three strokes across the lower part
        page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * row)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + box["height"] * row, steps=4)  # a line each
        page.mouse.up()
    # few steps (the defaults take minutes on a shared CPU): what is checked holds after any number
    set_slider(page, "Steps (latent search; Adam steps when maximizing)", 10)
    set_slider(page, "Langevin steps (sampling)", 5)
    page.locator("#completions-button").click()
    page.wait_for_function("document.querySelectorAll('#completions-output .gallery-item img').length === 5",
                           timeout=240_000)
    for img in page.locator("#completions-output .gallery-item img").all():
        assert_content(fetch(page, img.get_attribute("src")), 200)
    text = page.locator("#completions-output").inner_text()
    assert re.search(r"erased \(\d+ px\)", text) and len(re.findall(r"\d\.\d{3} bits/dim", text)) >= 4
    note = page.locator("#completions-note").inner_text()
    assert "Metropolis-adjusted Langevin" in note
    assert "10 steps of latent search" in note and "then 5 Metropolis-adjusted Langevin steps" in note  # the sliders'
    shot(page, "10-completions-brush")


def test_classify_needs_a_class_conditional_model(page):
    choose_model(page, "mnist")  # the examples and figures below are the digit model's
    open_tab(page, "Classify")
    page.locator("#classify-needs").wait_for(state="visible")
    assert page.locator("#classify-button").is_disabled()
    shot(page, "11-classify-unconditional")


def test_ood_tab(page):
    choose_model(page, "mnist")  # the examples and figures below are the digit model's
    open_tab(page, "Out-of-distribution")
    page.wait_for_selector("#ood-examples .gallery-item")
    pick_example(page, "#ood-examples", 14, "#ood-image")  # digit8_0
    page.locator("#ood-button").click()
    chart = fetch(page, wait_for_new_image(page, "#ood-output"))
    assert chart.shape == (340, 1000, 3) and chart.std() > 5
    assert "fashion-mnist" in page.locator("#ood-table").inner_text()
    page.wait_for_selector("#ood-note :text('This image')")
    shot(page, "12-ood")


def likelihood_of_an_example(page) -> None:
    """On mnist, the Likelihood tab's result for an example digit (any result shown before is replaced)."""
    choose_model(page, "mnist")
    open_tab(page, "Likelihood")
    page.wait_for_selector("#likelihood-examples .gallery-item")
    pick_example(page, "#likelihood-examples", 5, "#likelihood-image")
    before = image_src(page, "#likelihood-heatmap")
    page.locator("#likelihood-button").click()
    wait_for_new_image(page, "#likelihood-heatmap", before)
    page.wait_for_selector("#likelihood-note :text('bits/dim')")


def test_bad_upload_shows_a_message_and_keeps_the_results(page, tmp_path):
    likelihood_of_an_example(page)  # the results that must stay
    heatmap, bpd = image_src(page, "#likelihood-heatmap"), page.locator("#likelihood-bpd input").input_value()
    assert heatmap and bpd, "the likelihood tab shows a result"
    fake = tmp_path / "notes.png"
    fake.write_text("not an image at all\n" * 10)
    page.locator("#likelihood-image input[type=file]").set_input_files(str(fake))
    page.locator("#likelihood-button").click()
    toast = page.locator(".toast-body", has_text="is not an image format this app can read")
    toast.first.wait_for()
    assert "Traceback" not in page.content()
    page.wait_for_timeout(500)  # any status the outputs were going to show has arrived with the toast
    for output in ("#likelihood-heatmap", "#likelihood-bpd", "#likelihood-note", "#likelihood-histogram"):
        assert page.locator(output).get_by_text("Error", exact=True).count() == 0, f"{output} shows an error badge"
    assert image_src(page, "#likelihood-heatmap") == heatmap, "the last heatmap is still shown"
    assert page.locator("#likelihood-bpd input").input_value() == bpd
    shot(page, "06-error")


def test_switch_to_class_conditional_model(conditional_page):
    page = conditional_page
    choose_model(page, "mnist")  # the examples and figures below are the digit model's
    open_tab(page, "Sample")
    assert not page.locator("#sample-class").is_visible()
    page.locator("#model input").click()
    page.get_by_role("option", name="mnist-cond").click()
    page.locator("#model-description :text('class-conditional')").wait_for()
    page.locator("#sample-class").wait_for(state="visible")
    before = image_src(page, "#sample-output")
    page.locator("#sample-button").click()
    assert_content(fetch(page, wait_for_new_image(page, "#sample-output", before)), 200)
    shot(page, "07-conditional")


def test_classify_tab_on_the_class_conditional_model(conditional_page):
    page = conditional_page
    choose_model(page, "mnist-cond")
    open_tab(page, "Classify")
    page.locator("#classify-needs").wait_for(state="hidden")
    page.wait_for_selector("#classify-examples .gallery-item")
    pick_example(page, "#classify-examples", 6, "#classify-image")  # digit3_0
    page.locator("#classify-button").click()
    chart = fetch(page, wait_for_new_image(page, "#classify-output"))
    assert chart.shape == (300, 800, 3) and chart.std() > 5
    page.wait_for_selector("#classify-note :text('Class')")
    assert "accurate" in page.locator("#classify-note").inner_text()
    reference = json.loads((ROOT / "assets" / "models" / "mnist-cond" / "reference.json").read_text())
    assert f"accuracy {reference['classifier']['accuracy'] * 100:.1f}%" in page.locator("#model-description").inner_text()
    shot(page, "13-classify")


def test_restyle_tab(conditional_page):
    page = conditional_page
    choose_model(page, "mnist-cond")  # already chosen by the Classify test
    open_tab(page, "Restyle")
    page.locator("#restyle-needs").wait_for(state="hidden")
    page.wait_for_selector("#restyle-examples .gallery-item")
    pick_example(page, "#restyle-examples", 6, "#restyle-image")  # digit3_0
    page.locator("#restyle-button").click()
    strip = fetch(page, wait_for_new_image(page, "#restyle-output"))
    assert_content(strip, 300)
    assert strip.shape[1] > 1.5 * strip.shape[0]  # two rows of five classes
    page.wait_for_selector("#restyle-note :text('Encoded as 3')")
    shot(page, "19-restyle")


def test_suggested_model_in_one_click(own_page, photo):
    """A colour photo on mnist offers photos; its button switches the model and keeps the image (the
    other tabs get the new model's examples); a digit on photos offers mnist. On a page of its own: a
    model switch updates every tab visited before, which on the shared page made it 5-8x slower."""
    page = own_page
    choose_model(page, "mnist")
    open_tab(page, "Likelihood")
    upload(page, "#likelihood-image", photo)
    box = page.locator("#likelihood-suggestion-text")
    box.wait_for(state="visible")
    assert "colour image" in box.inner_text() and "`mnist`" not in box.inner_text()  # rendered as code
    button = page.locator("#likelihood-suggestion-button")
    assert button.inner_text().startswith("Switch to photos")
    shot(page, "14-suggestion-colour-on-mnist")
    button.click()
    page.wait_for_function("document.querySelector('#model input').value === 'photos'")
    page.locator("#model-description :text('RGB')").first.wait_for()
    box.wait_for(state="hidden")
    assert "astronaut" in image_src(page, "#likelihood-image")  # the image stayed
    open_tab(page, "Per-scale reconstruction")  # another tab: the new model's example
    page.wait_for_function("(document.querySelector('#per-scale-image img') || {}).src?.includes('test_')")
    open_tab(page, "Likelihood")
    page.locator("#likelihood-button").click()
    page.wait_for_selector("#likelihood-note :text('under photos')")
    assert "Better suited" not in page.locator("#likelihood-note").inner_text()
    shot(page, "15-suggestion-taken")
    # the reverse: a digit on photos offers mnist
    upload(page, "#likelihood-image", ROOT / "assets" / "examples" / "mnist" / "digit3_0.png")
    box.wait_for(state="visible")
    assert "digit" in box.inner_text()
    assert page.locator("#likelihood-suggestion-button").inner_text().startswith("Switch to mnist")
    page.locator("#likelihood-suggestion-button").click()
    page.wait_for_function("document.querySelector('#model input').value === 'mnist'")
    box.wait_for(state="hidden")
    assert "digit3_0" in image_src(page, "#likelihood-image")


def test_layers_tab(page):
    choose_model(page, "mnist")
    open_tab(page, "Layer by layer")
    page.wait_for_selector("#layers-examples .gallery-item")
    pick_example(page, "#layers-examples", 8, "#layers-image")
    page.locator("#layers-button").click()
    page.wait_for_function("document.querySelectorAll('#layers-output .gallery-item img').length === 27")
    pictures = [fetch(page, img.get_attribute("src"))
                for img in page.locator("#layers-output .gallery-item img").all()[:3]]
    for picture in pictures:
        assert_content(picture, 200)
    assert_content(fetch(page, wait_for_new_image(page, "#layers-curve")), 250)
    page.wait_for_selector("#layers-note :text('model.log_prob')")
    assert "checkerboard coupling" in page.locator("#layers-table").inner_text()
    assert_captions_under_pictures(page, "#layers-output")  # three-line captions among them
    shot(page, "16-layers-encode")
    page.locator("#layers-direction").get_by_text("decode a sample").click()
    page.locator("#layers-button").click()
    page.wait_for_selector("#layers-note :text('minus the encode log-dets')")
    assert "undone" in page.locator("#layers-output").inner_text()
    shot(page, "17-layers-decode")


def test_directions_tab(page):
    choose_model(page, "mnist")
    open_tab(page, "Directions")
    page.wait_for_selector("#direction-examples .gallery-item")
    pick_example(page, "#direction-examples", 13, "#direction-image")  # a 7
    assert "digit7" in image_src(page, "#direction-image")
    page.locator("#direction-button").click()
    strip = fetch(page, wait_for_new_image(page, "#direction-output"))
    assert_content(strip, 60)
    assert strip.shape[1] > 6 * strip.shape[0]  # one row of 7 steps
    page.wait_for_selector("#direction-note :text('mean[1] − mean[7]')")
    shot(page, "18-directions")

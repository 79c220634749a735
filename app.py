"""Real NVP explorer: a Gradio app (also a Hugging Face Space) over the realnvp library.

Tabs: Sample, Interpolate, Per-scale reconstruction, Likelihood, Complete. Every event has an
`api_name`, so everything the page does can also be called with `gradio_client`.
The work itself lives in `realnvp.explore` (plain functions), image handling in
`realnvp.images`, model loading in `realnvp.hub`; this file wires widgets to them and turns
every failure into a short message on the page (never a stack trace).
"""
from __future__ import annotations

import functools
import logging
import math
import os
import random
import tempfile
import uuid
from pathlib import Path

import gradio as gr
import numpy as np
import torch

from realnvp import CheckpointError, NonFiniteError, explore
from realnvp.hub import ModelRegistry
from realnvp.images import ImageInputError, enlarge, prepare_image, to_uint8_image

try:  # ZeroGPU: allocate a GPU for the decorated calls; does nothing elsewhere
    import spaces

    gpu = spaces.GPU
except ImportError:  # pragma: no cover - `spaces` is in requirements.txt
    def gpu(fn=None, **_):
        return fn if fn is not None else (lambda f: f)

log = logging.getLogger("realnvp.app")

# ----------------------------------------------------------------------------- limits
MAX_SAMPLES = 100
MAX_TEMPERATURE = 1.5
MAX_GRID = 10
MAX_STEPS = 16
MAX_COMPLETION_STEPS = 500
ON_GPU = torch.cuda.is_available()
MAX_SIDE = 256 if ON_GPU else 128  # own-resolution evaluation: longer side cap
DISPLAY_SIDE = 256  # small results are enlarged (nearest neighbour) to at least this size
NOISE_SEED = 0  # dequantization noise of the likelihood tab (fixed: the same image gives the same number)

QUEUE = dict(max_size=32, default_concurrency_limit=2)


def available_cpus() -> int:
    """CPUs this process may use: its affinity mask, capped by a cgroup v2 quota (containers, Spaces)."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            count = min(count, max(1, int(int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return count


def cpu_threads() -> int:
    """Torch threads per request on CPU: the CPUs shared among the concurrent requests (more threads than
    cores makes every request slower; on a busy 2-core machine 1 thread was 8-25x faster than 2)."""
    if os.environ.get("REALNVP_NUM_THREADS"):
        return max(1, int(os.environ["REALNVP_NUM_THREADS"]))
    return max(1, available_cpus() // QUEUE["default_concurrency_limit"])


if not ON_GPU:
    torch.set_num_threads(cpu_threads())

CSS = """
.pixelated img, .pixelated canvas { image-rendering: pixelated; }
.image-input .image-frame img, .result img { width: 100%; height: 100%; object-fit: contain; }
.examples .grid-container { grid-template-columns: repeat(var(--grid-cols), minmax(0, 1fr)) !important;
                            grid-template-rows: none !important; grid-auto-rows: auto !important;
                            gap: 4px !important; }
.examples .grid-wrap { overflow-y: auto; }
#model-description p { margin: 0.2em 0; }
"""


def launch_options() -> dict:
    """Arguments of `demo.launch` (tests add their own host and port; a Space sets them by env)."""
    assets = Path(__file__).resolve().parent / "assets"  # the examples, also when started from elsewhere
    return dict(max_file_size="10mb", css=CSS, theme=gr.themes.Soft(), allowed_paths=[str(assets)])


# ----------------------------------------------------------------------------- models (loaded once)
REGISTRY = ModelRegistry()
for _warning in REGISTRY.warnings:
    log.warning(_warning)
DEFAULT_MODEL = REGISTRY.default_name
REGISTRY.load(DEFAULT_MODEL)  # at start-up: a broken bundled default stops the app with a clear error
OUTPUT_DIR = Path(tempfile.mkdtemp(prefix="realnvp-app-"))

NO_IMAGE = "Upload an image or pick an example first."
NALISNICK = (
    "**Likelihood is not typicality.** A flow can give images unlike anything it was trained on a *higher* "
    "likelihood than its own test images (Nalisnick et al., 2019, "
    "[Do Deep Generative Models Know What They Don't Know?](https://arxiv.org/abs/1810.09136)): smooth, "
    "low-contrast images are cheap to encode. A low bits/dim is not evidence that an image is in-distribution."
)


def get_model(name: str | None):
    """The loaded model for `name` (bundled default if it cannot be loaded, with a warning toast)."""
    loaded = REGISTRY.load(name or DEFAULT_MODEL)
    if loaded.message:
        gr.Warning(loaded.message)
    return loaded


def user_errors(fn):
    """Turn every failure into a gr.Error with a message for the user (no stack trace on the page)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error as error:
            raise quiet(error) from None
        except (ImageInputError, CheckpointError) as error:
            raise quiet(gr.Error(str(error))) from None
        except NonFiniteError as error:
            log.warning("%s: %s", fn.__name__, error)
            raise quiet(gr.Error("The model produced non-finite values for this input; try a lower temperature, "
                                 "another image or another model.")) from None
        except (ValueError, TypeError) as error:
            raise quiet(gr.Error(f"Invalid input: {error}")) from None
        except (MemoryError, torch.cuda.OutOfMemoryError):
            raise quiet(gr.Error("Out of memory: use a smaller image or fewer samples, or try again later.")) from None
        except Exception as error:  # noqa: BLE001 - logged server-side, summarised for the user
            log.exception("unexpected error in %s", fn.__name__)
            raise gr.Error(f"Something went wrong ({type(error).__name__}); try another input. "
                           f"The error was logged.", print_exception=False) from None

    return wrapper


def quiet(error: gr.Error) -> gr.Error:
    """An expected, explained error: one log line instead of a traceback in the server log."""
    log.info("refused input: %s", error.message if hasattr(error, "message") else error)
    error.print_exception = False
    return error


# ----------------------------------------------------------------------------- input helpers
def number(value, name: str, low: float, high: float, integer: bool = False):
    if value is None or (isinstance(value, str) and not value.strip()):
        raise gr.Error(f"{name} is missing; give a number between {low:g} and {high:g}.")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise gr.Error(f"{name} must be a number, got {value!r}.") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise gr.Error(f"{name} must lie between {low:g} and {high:g}, got {value:g}.")
    return int(round(value)) if integer else value


def seed_value(seed, randomize: bool) -> int:
    if randomize:
        return random.randrange(2**31)
    return number(seed, "Seed", 0, 2**31 - 1, integer=True)


def invert_value(choice) -> bool | str:
    choices = {"auto": "auto", "yes": True, "no": False, True: True, False: False, None: "auto"}
    if choice not in choices:
        raise gr.Error(f"invert must be 'auto', 'yes' or 'no', got {choice!r}.")
    return choices[choice]


def load_image(loaded, image, invert="auto", resolution="model", what="image") -> torch.Tensor:
    """An uploaded/example image file -> (1, C, H, W) model input on the model's device."""
    if image is None or image == "":
        raise gr.Error(NO_IMAGE if what == "image" else f"{what} is empty: upload an image or pick an example.")
    if isinstance(image, dict):  # a FileData dict, e.g. from an API call with a raw payload
        image = image.get("path")
    if resolution not in ("model", "own"):
        raise gr.Error(f"resolution must be 'model' or 'own', got {resolution!r}.")
    model = loaded.model
    try:
        x = prepare_image(image, model.in_channels, model.image_size if resolution == "model" else None,
                          model.num_levels, multiple=model.size_multiple, max_side=MAX_SIDE,
                          invert=invert_value(invert))
    except ImageInputError as error:
        prefix = "" if what == "image" else f"{what}: "
        raise gr.Error(prefix + str(error)) from None
    return x.to(next(model.parameters()).device)


def class_label(model, choice, x: torch.Tensor | None = None) -> tuple[int | None, str]:
    """The class to condition on: None for unconditional models; 'auto' picks the class under
    which the image is most likely."""
    if model.num_classes is None:
        return None, ""
    if choice in (None, "", "auto"):
        if x is None:
            raise gr.Error("Pick a class.")
        with torch.inference_mode():
            log_p = explore.class_log_likelihoods(model, x)
        best = int(log_p.argmax())
        posterior = torch.softmax(log_p.double(), 0)[best].item()
        return best, f"class {best} (the most likely under the model: p(y|x) = {posterior:.3f}, uniform prior)"
    try:
        y = int(str(choice).strip())
    except ValueError:
        raise gr.Error(f"class must be 'auto' or a number 0-{model.num_classes - 1}, got {choice!r}.") from None
    if not 0 <= y < model.num_classes:
        raise gr.Error(f"class must lie between 0 and {model.num_classes - 1}, got {y}.")
    return y, f"class {y}"


def display(image: np.ndarray) -> np.ndarray:
    return enlarge(image, DISPLAY_SIDE)


def figure(fig) -> np.ndarray:
    return explore.figure_to_image(fig)


def save_array(array: np.ndarray, stem: str) -> str:
    stale = sorted(OUTPUT_DIR.glob("*.npy"), key=lambda p: p.stat().st_mtime)[:-100]
    for path in stale:
        path.unlink(missing_ok=True)
    path = OUTPUT_DIR / f"{stem}-{uuid.uuid4().hex[:8]}.npy"
    np.save(path, array)
    return str(path)


# ----------------------------------------------------------------------------- Sample
@user_errors
@gpu
def sample(model_name, num_samples=64, temperature=0.8, seed=0, randomize_seed=True, class_choice="all",
           per_scale=False, coarse_temperature=1.0, fine_temperature=0.5):
    """A grid of samples x = decode(z), z ~ N(0, T² I); returns the grid, the seed used and a note."""
    loaded = get_model(model_name)
    model = loaded.model
    n = number(num_samples, "Number of samples", 1, MAX_SAMPLES, integer=True)
    if per_scale:
        coarse = number(coarse_temperature, "Coarse-scale temperature", 0, MAX_TEMPERATURE)
        fine = number(fine_temperature, "Fine-scale temperature", 0, MAX_TEMPERATURE)
        temperature = explore.scale_temperatures(model.num_scales, coarse, fine)
        note = "temperatures per scale, finest first: " + ", ".join(f"{t:.2f}" for t in temperature)
    else:
        temperature = number(temperature, "Temperature", 0, MAX_TEMPERATURE)
        note = f"temperature {temperature:.2f}"
    seed = seed_value(seed, randomize_seed)
    nrow = math.ceil(math.sqrt(n))
    y = None
    if model.num_classes is not None:
        if class_choice in (None, "", "all", "auto"):
            y = torch.arange(n) % model.num_classes
            nrow = model.num_classes
            note += f"; classes 0-{model.num_classes - 1}, one per column"
        else:
            y, text = class_label(model, class_choice)
            note += f"; {text}"
    with torch.inference_mode():
        x = explore.sample_grid(model, n, temperature, seed, y=y)
    return display(explore.grid_image(x, nrow)), seed, f"{n} samples from {loaded.name}, seed {seed}, {note}."


# ----------------------------------------------------------------------------- Interpolate
def _corners(loaded, images, invert):
    xs = [load_image(loaded, image, invert, what=f"Corner {i + 1}") for i, image in enumerate(images)]
    return torch.cat(xs)


@user_errors
@gpu
def manifold(model_name, corner1, corner2, corner3, corner4, class_choice="auto", invert="auto", grid_size=5):
    """The paper's manifold through the latents of four images (corners of the grid)."""
    loaded = get_model(model_name)
    size = number(grid_size, "Grid size", 2, MAX_GRID, integer=True)
    x = _corners(loaded, [corner1, corner2, corner3, corner4], invert)
    y, text = class_label(loaded.model, class_choice, x[:1])
    with torch.inference_mode():
        grid = explore.interpolation_manifold(loaded.model, x, size, y=y)
    note = f"{size}×{size} grid; corners 1 (top left), 2 (top right), 3 (bottom left), 4 (bottom right)."
    return display(explore.grid_image(grid, size)), note + (f" Decoded as {text}." if text else "")


@user_errors
@gpu
def interpolate(model_name, first, second, class_choice="auto", invert="auto", steps=8):
    """z = cos(t) z1 + sin(t) z2, t from 0 to π/2, decoded: a row from image 1 to image 2."""
    loaded = get_model(model_name)
    n = number(steps, "Steps", 2, MAX_STEPS, integer=True)
    x = _corners(loaded, [first, second], invert)
    y, text = class_label(loaded.model, class_choice, x[:1])
    with torch.inference_mode():
        row = explore.interpolate_pair(loaded.model, x[:1], x[1:], n, y=y)
    note = f"{n} steps from corner 1 to corner 2" + (f", {text}." if text else ".")
    return display(explore.grid_image(row, n)), note


# ----------------------------------------------------------------------------- Per-scale reconstruction
@user_errors
@gpu
def per_scale(model_name, image, class_choice="auto", invert="auto", resolution="model", mode="resample",
              temperature=1.0, seed=0):
    """Decode keeping the latents of the k coarsest scales (k = all ... 0), resampling or zeroing the rest."""
    loaded = get_model(model_name)
    model = loaded.model
    if mode not in ("resample", "zero"):
        raise gr.Error(f"mode must be 'resample' or 'zero', got {mode!r}.")
    temperature = number(temperature, "Temperature", 0, MAX_TEMPERATURE)
    seed = number(seed, "Seed", 0, 2**31 - 1, integer=True)
    x = load_image(loaded, image, invert, resolution)
    y, text = class_label(model, class_choice, x)
    with torch.inference_mode():
        rows, captions = explore.per_scale_reconstructions(model, x, mode, temperature, seed, y=y)
        error = explore.round_trip_error(model, x, y=y)
    items = [(display(to_uint8_image(x)), f"input ({x.shape[3]}×{x.shape[2]})")]
    items += [(display(to_uint8_image(r)), c) for r, c in zip(rows, captions)]
    finer = "resampled at temperature %.2f" % temperature if mode == "resample" else "set to zero"
    note = (f"Round trip: max |x − decode(encode(x))| = {error:.2e} (the flow is exactly invertible up to "
            f"float32 rounding). The latents of the finer scales are {finer}; the model has "
            f"{model.num_scales} scales.")
    return items, note + (f" Conditioned on {text}." if text else "")


# ----------------------------------------------------------------------------- Likelihood
@user_errors
@gpu
def likelihood(model_name, image, class_choice="auto", invert="auto", resolution="model"):
    """Per-pixel bits (heatmap), bits/dim, its breakdown, and where the image falls among the test images."""
    loaded = get_model(model_name)
    model = loaded.model
    x = load_image(loaded, image, invert, resolution)
    generator = torch.Generator().manual_seed(NOISE_SEED)
    xd = model.dequantize(x, generator=generator)
    y, text = class_label(model, class_choice, xd)
    with torch.inference_mode():
        bits = explore.bits_map(model, xd, y=y)[0].float().cpu().numpy()
        terms = explore.breakdown_bits_per_dim(model, xd, y=y)
        bpd = float(model.bits_per_dim(xd, y)[0])
    heat = figure(explore.heatmap_figure(to_uint8_image(x), bits, f"bits per value (mean {bpd:.3f})"))
    table = [[name, round(value, 6)] for name, value in terms.items()] + [["total (bits/dim)", round(bpd, 6)]]
    h, w = x.shape[2:]
    notes = [f"**{bpd:.4f} bits/dim** for this {w}×{h} image under {loaded.name}" + (f", {text}." if text else ".")]
    hist = None
    ref = loaded.reference
    if ref and ref.get("test_bpd"):
        test = np.asarray(ref["test_bpd"], dtype=np.float64)
        more_likely = float((test > bpd).mean()) * 100
        hist = figure(explore.histogram_figure(test, bpd))
        notes.append(f"It is more likely (fewer bits/dim) than {more_likely:.1f}% of the {len(test):,} "
                     f"`{ref.get('dataset', '?')}` test images (mean {test.mean():.3f}).")
        if resolution == "own" and (h, w) != (model.image_size, model.image_size):
            notes.append(f"The test images are {model.image_size}×{model.image_size}; bits/dim at another "
                         f"resolution compare only roughly.")
    else:
        notes.append("No test-set reference (reference.json) for this model.")
    notes.append("Dequantization: uniform noise with a fixed seed, as for the test set; the breakdown's terms "
                 "sum to the total.")
    return heat, round(bpd, 6), table, hist, "\n\n".join(notes), save_array(bits.astype(np.float32), "bits")


# ----------------------------------------------------------------------------- Complete
def _erase_mask(x, top, bottom, left, right):
    named = ((top, "Top"), (bottom, "Bottom"), (left, "Left"), (right, "Right"))
    fractions = [number(value, name, 0, 1) for value, name in named]
    return explore.rectangle_mask(x.shape[2], x.shape[3], *fractions).to(x.device)


@user_errors
def erase_preview(model_name, image, invert="auto", top=0.5, bottom=1.0, left=0.0, right=1.0):
    """The model-size input with the rectangle to erase tinted red."""
    if image is None or image == "":
        return None
    loaded = get_model(model_name)
    x = load_image(loaded, image, invert)
    return display(explore.mask_preview(x, _erase_mask(x, top, bottom, left, right)))


@user_errors
@gpu(duration=120)
def complete(model_name, image, class_choice="auto", invert="auto", top=0.5, bottom=1.0, left=0.0, right=1.0,
             steps=100, learning_rate=0.05, seed=0, progress=gr.Progress()):
    """Fill the erased rectangle by maximizing log p(x) over its pixels (Adam on the pixel values)."""
    loaded = get_model(model_name)
    model = loaded.model
    n = number(steps, "Steps", 1, MAX_COMPLETION_STEPS, integer=True)
    lr = number(learning_rate, "Learning rate", 1e-4, 1.0)
    seed = number(seed, "Seed", 0, 2**31 - 1, integer=True)
    x = load_image(loaded, image, invert)
    mask = _erase_mask(x, top, bottom, left, right)
    y, text = class_label(model, class_choice, x)
    progress(0, desc="filling in")

    def report(step, total, bpd):
        progress((step, total), desc=f"bits/dim {bpd:.3f}")

    filled, history = explore.complete(model, x, mask, steps=n, lr=lr, seed=seed, y=y, progress=report)
    with torch.inference_mode():
        final, original = (float(model.bits_per_dim(image, y)[0]) for image in (filled, x))
    curve = figure(explore.curve_figure(history + [final], title="bits/dim of the image while filling in"))
    note = (f"Filled {int(mask.sum())} of {mask.numel()} pixels in {n} steps: {history[0]:.3f} → {final:.3f} "
            f"bits/dim (density of the whole image at its pixel values; the original image: {original:.3f}).")
    return display(to_uint8_image(filled)), curve, note + (f" Conditioned on {text}." if text else "")


# ----------------------------------------------------------------------------- model picker
def model_info(model_name: str = DEFAULT_MODEL) -> dict:
    """What a model is: description, shape, classes, scales, reference test bits/dim, example names."""
    loaded = REGISTRY.load(model_name)
    model = loaded.model
    ref = loaded.reference or {}
    return {"name": loaded.name, "requested": model_name, "message": loaded.message,
            "description": REGISTRY.describe(loaded), "channels": model.in_channels,
            "image_size": model.image_size, "num_scales": model.num_scales, "num_classes": model.num_classes,
            "size_multiple": model.size_multiple, "dataset": ref.get("dataset"),
            "mean_test_bpd": ref.get("mean_test_bpd"), "examples": [p.name for p in loaded.examples]}


def example_items(loaded) -> list[str]:
    return [str(p) for p in loaded.examples]


def distinct_examples(loaded, count: int) -> list[str | None]:
    """`count` example paths, preferring different classes (file names like digit3_0.png)."""
    paths, seen = [], set()
    for p in loaded.examples:
        key = p.stem.rsplit("_", 1)[0]
        if key not in seen:
            seen.add(key)
            paths.append(str(p))
    paths += [str(p) for p in loaded.examples if str(p) not in paths]
    paths += [None] * count
    return paths[:count]


def class_choices(model, first: tuple[str, str]):
    if model.num_classes is None:
        return [first]
    return [first] + [(str(i), str(i)) for i in range(model.num_classes)]


def class_dropdown(model, first: tuple[str, str], **kwargs):
    # custom values allowed: the choices change with the model, and the functions check the value
    return gr.Dropdown(class_choices(model, first), value=first[1], label="Class", allow_custom_value=True,
                       visible=model.num_classes is not None, **kwargs)


# ----------------------------------------------------------------------------- the page
INVERT_CHOICES = [("auto", "auto"), ("invert", "yes"), ("keep", "no")]
INVERT_INFO = "MNIST digits are white on black: 'auto' inverts images with a light background."
RESOLUTION_CHOICES = [("model size (centre crop + resize)", "model"), (f"own resolution (≤{MAX_SIDE} px)", "own")]
AUTO_CLASS = ("auto (most likely)", "auto")
ALL_CLASSES = ("all (one per column)", "all")


def undecoded_upload(component: gr.Image, payload):
    """gr.Image's preprocessing without decoding: the upload reaches the app as its file path, and
    realnvp.images opens it, with a clear message for every kind of broken file (gr.Image itself
    would fail on them with a generic error). Set per instance: a gr.Image subclass would make
    Gradio write an app.pyi next to this file."""
    if payload is not None and getattr(payload, "path", None):
        return str(payload.path)
    return gr.Image.preprocess(component, payload)


def image_input(label, value, elem_id, height=240):
    image = gr.Image(value=value, type="filepath", image_mode=None, label=label, sources=["upload", "clipboard"],
                     height=height, elem_id=elem_id, elem_classes=["pixelated", "image-input"])
    image.preprocess = functools.partial(undecoded_upload, image)
    return image


def example_gallery(loaded, elem_id, label="Held-out test images (click one to use it)"):
    gr.Markdown(label, elem_classes="gallery-caption")
    return gr.Gallery(example_items(loaded), label=label, show_label=False, columns=8, height=140, allow_preview=False,
                      object_fit="contain", elem_id=elem_id, elem_classes=["pixelated", "examples"], format="png")


def output_image(label, elem_id, height=None):
    return gr.Image(label=label, format="png", type="numpy", interactive=False, elem_id=elem_id,
                    elem_classes=["pixelated", "result"], height=height, buttons=["download", "fullscreen"])


_start = REGISTRY.load(DEFAULT_MODEL)
_grey = _start.model.in_channels == 1
_picks = distinct_examples(_start, 4)

def invert_radio():
    return gr.Radio(INVERT_CHOICES, value="auto", label="Invert", info=INVERT_INFO, visible=_grey)


def single_image_controls(pick: int, prefix: str):
    """A one-image tab's input, example gallery, class and invert controls, registered so that
    picking an example and switching model update them. Returns (image, class, invert)."""
    image = image_input("Image", _picks[pick], f"{prefix}-image")
    gallery = example_gallery(_start, f"{prefix}-examples")
    with gr.Row():
        class_dd = class_dropdown(_start.model, AUTO_CLASS)
        invert = invert_radio()
    singles.append((image, gallery, pick))
    inverts.append(invert)
    classes.append(class_dd)
    galleries.append(gallery)
    return image, class_dd, invert


with gr.Blocks(title="Real NVP explorer", delete_cache=(3600, 3600)) as demo:
    gr.Markdown("# Real NVP explorer\nAn exact-likelihood normalizing flow with the multi-scale architecture of "
                "[Dinh, Sohl-Dickstein & Bengio (2017)](https://arxiv.org/abs/1605.08803): sample, interpolate in "
                "latent space, see what each scale encodes, measure likelihoods pixel by pixel, fill in erased pixels.")
    with gr.Row(equal_height=True):
        model_dd = gr.Dropdown(REGISTRY.names(), value=DEFAULT_MODEL, label="Model", scale=1, elem_id="model",
                               allow_custom_value=False)
        model_md = gr.Markdown(REGISTRY.describe(_start), elem_id="model-description")

    inverts, classes, galleries, singles = [], [], [], []

    with gr.Tabs():
        # ------------------------------------------------------------------ Sample
        with gr.Tab("Sample", id="sample"):
            with gr.Row():
                with gr.Column(scale=2):
                    s_n = gr.Slider(1, MAX_SAMPLES, value=64, step=1, label="Number of samples")
                    s_t = gr.Slider(0, MAX_TEMPERATURE, value=0.8, step=0.05, label="Temperature",
                                    info="Standard deviation of the latents: lower gives cleaner, less varied samples.")
                    s_class = class_dropdown(_start.model, ALL_CLASSES, elem_id="sample-class")
                    with gr.Row():
                        s_seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=2**31 - 1)
                        s_rand = gr.Checkbox(True, label="Randomize seed")
                    with gr.Accordion("Temperature per scale", open=False):
                        s_per_scale = gr.Checkbox(False, label="Use a temperature per scale (overrides the one above)")
                        s_coarse = gr.Slider(0, MAX_TEMPERATURE, value=1.0, step=0.05,
                                             label="Coarsest scale (overall structure)")
                        s_fine = gr.Slider(0, MAX_TEMPERATURE, value=0.5, step=0.05,
                                           label="Finest scale (detail)")
                        gr.Markdown("Scales in between are interpolated linearly. Try hot structure with cold "
                                    "detail, or the reverse.")
                    s_btn = gr.Button("Sample", variant="primary", elem_id="sample-button")
                with gr.Column(scale=3):
                    s_out = output_image("Samples", "sample-output", 560)
                    s_note = gr.Markdown(label="note", elem_id="sample-note")
            s_btn.click(sample, [model_dd, s_n, s_t, s_seed, s_rand, s_class, s_per_scale, s_coarse, s_fine],
                        [s_out, s_seed, s_note], api_name="sample")

        # ------------------------------------------------------------------ Interpolate
        with gr.Tab("Interpolate", id="interpolate"):
            with gr.Row():
                with gr.Column(scale=2):
                    with gr.Row():
                        c1 = image_input("Corner 1", _picks[0], "corner1", 150)
                        c2 = image_input("Corner 2", _picks[1], "corner2", 150)
                    with gr.Row():
                        c3 = image_input("Corner 3", _picks[2], "corner3", 150)
                        c4 = image_input("Corner 4", _picks[3], "corner4", 150)
                    i_target = gr.Radio(["1", "2", "3", "4"], value="1", label="Clicking an example fills corner")
                    i_gallery = example_gallery(_start, "interpolate-examples")
                    with gr.Row():
                        i_class = class_dropdown(_start.model, AUTO_CLASS,
                                                 info="auto: the most likely class of corner 1")
                        i_invert = invert_radio()
                    i_size = gr.Slider(3, MAX_GRID, value=5, step=1, label="Manifold grid size")
                    i_steps = gr.Slider(2, MAX_STEPS, value=8, step=1, label="Steps from corner 1 to corner 2")
                    with gr.Row():
                        m_btn = gr.Button("Manifold of the four", variant="primary", elem_id="manifold-button")
                        p_btn = gr.Button("Interpolate 1 → 2", elem_id="interpolate-button")
                with gr.Column(scale=3):
                    m_out = output_image("Manifold: z = cos α (cos β z₁ + sin β z₂) + sin α (cos β z₃ + sin β z₄)",
                                         "manifold-output", 480)
                    m_note = gr.Markdown(label="note", elem_id="manifold-note")
                    p_out = output_image("From corner 1 to corner 2", "interpolate-output", 150)
                    p_note = gr.Markdown(label="note", elem_id="interpolate-note")
            m_btn.click(manifold, [model_dd, c1, c2, c3, c4, i_class, i_invert, i_size], [m_out, m_note],
                        api_name="manifold")
            p_btn.click(interpolate, [model_dd, c1, c2, i_class, i_invert, i_steps], [p_out, p_note],
                        api_name="interpolate")

            def fill_corner(model_name, target, evt: gr.SelectData):
                loaded = REGISTRY.load(model_name)
                index = evt.index if isinstance(evt.index, int) else evt.index[0]
                slot = int(target) - 1
                updates = [gr.update() for _ in range(4)]
                updates[slot] = str(loaded.examples[index])
                return *updates, str(slot % 4 + 2) if slot < 3 else "1"

            i_gallery.select(fill_corner, [model_dd, i_target], [c1, c2, c3, c4, i_target],
                             api_name="pick_corner", api_visibility="private")
            inverts.append(i_invert)
            classes.append(i_class)
            galleries.append(i_gallery)

        # ------------------------------------------------------------------ Per-scale reconstruction
        with gr.Tab("Per-scale reconstruction", id="per-scale"):
            with gr.Row():
                with gr.Column(scale=2):
                    r_img, r_class, r_invert = single_image_controls(0, "per-scale")
                    r_res = gr.Radio(RESOLUTION_CHOICES, value="model", label="Resolution")
                    r_mode = gr.Radio([("resample", "resample"), ("set to zero", "zero")], value="resample",
                                      label="Latents of the finer scales")
                    with gr.Row():
                        r_t = gr.Slider(0, MAX_TEMPERATURE, value=1.0, step=0.05, label="Temperature (resampling)")
                        r_seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=2**31 - 1)
                    r_btn = gr.Button("Reconstruct", variant="primary", elem_id="per-scale-button")
                with gr.Column(scale=3):
                    r_out = gr.Gallery(label="Keeping the latents of the k coarsest scales", columns=5, height=230,
                                       allow_preview=True, object_fit="contain", format="png",
                                       elem_id="per-scale-output", elem_classes="pixelated")
                    r_note = gr.Markdown(label="note", elem_id="per-scale-note")
            r_btn.click(per_scale, [model_dd, r_img, r_class, r_invert, r_res, r_mode, r_t, r_seed],
                        [r_out, r_note], api_name="per_scale")

        # ------------------------------------------------------------------ Likelihood
        with gr.Tab("Likelihood", id="likelihood"):
            with gr.Row():
                with gr.Column(scale=2):
                    l_img, l_class, l_invert = single_image_controls(1, "likelihood")
                    l_res = gr.Radio(RESOLUTION_CHOICES, value="model", label="Resolution",
                                     info="The model is fully convolutional: it can score an image at its own size.")
                    l_btn = gr.Button("Evaluate", variant="primary", elem_id="likelihood-button")
                    gr.Markdown(NALISNICK)
                with gr.Column(scale=3):
                    l_heat = output_image("Bits per pixel", "likelihood-heatmap", 420)
                    with gr.Row():
                        l_bpd = gr.Number(label="bits/dim", interactive=False, elem_id="likelihood-bpd", scale=1)
                        l_file = gr.File(label="Per-pixel bits (NumPy .npy)", elem_id="likelihood-file", scale=2)
                    l_table = gr.Dataframe(headers=["term", "bits/dim"], datatype=["str", "number"],
                                           label="Breakdown of the bits/dim (the terms sum to the total)",
                                           interactive=False, elem_id="likelihood-breakdown")
                    l_hist = output_image("Among the test images", "likelihood-histogram", 320)
                    l_note = gr.Markdown(label="note", elem_id="likelihood-note")
            l_btn.click(likelihood, [model_dd, l_img, l_class, l_invert, l_res],
                        [l_heat, l_bpd, l_table, l_hist, l_note, l_file], api_name="likelihood")

        # ------------------------------------------------------------------ Complete
        with gr.Tab("Complete", id="complete"):
            with gr.Row():
                with gr.Column(scale=2):
                    k_img, k_class, k_invert = single_image_controls(2, "complete")
                    gr.Markdown("**Rectangle to erase** (fractions of the height and width)")
                    with gr.Row():
                        k_top = gr.Slider(0, 1, value=0.5, step=0.01, label="Top")
                        k_bottom = gr.Slider(0, 1, value=1.0, step=0.01, label="Bottom")
                    with gr.Row():
                        k_left = gr.Slider(0, 1, value=0.0, step=0.01, label="Left")
                        k_right = gr.Slider(0, 1, value=1.0, step=0.01, label="Right")
                    k_steps = gr.Slider(10, MAX_COMPLETION_STEPS, value=100, step=10, label="Optimization steps")
                    with gr.Accordion("Optimizer", open=False):
                        k_lr = gr.Slider(0.005, 0.5, value=0.05, step=0.005, label="Learning rate (Adam)")
                        k_seed = gr.Number(0, label="Seed of the initial noise", precision=0, minimum=0,
                                           maximum=2**31 - 1)
                    k_btn = gr.Button("Complete", variant="primary", elem_id="complete-button")
                with gr.Column(scale=3):
                    with gr.Row():
                        k_preview = output_image("To erase (red)", "complete-preview", 300)
                        k_out = output_image("Completed", "complete-output", 300)
                    k_curve = output_image("bits/dim while filling in", "complete-curve", 320)
                    k_note = gr.Markdown(label="note", elem_id="complete-note")
            preview_inputs = [model_dd, k_img, k_invert, k_top, k_bottom, k_left, k_right]
            k_img.change(erase_preview, preview_inputs, k_preview, api_name="erase_preview",
                         trigger_mode="always_last", show_progress="hidden")
            for name, trigger in (("invert", k_invert.change), ("top", k_top.change), ("bottom", k_bottom.change),
                                  ("left", k_left.change), ("right", k_right.change)):
                trigger(erase_preview, preview_inputs, k_preview, api_name=f"erase_preview_on_{name}",
                        api_visibility="private", trigger_mode="always_last", show_progress="hidden")
            demo.load(erase_preview, preview_inputs, k_preview, api_name="erase_preview_on_load",
                      api_visibility="private", show_progress="hidden")
            k_btn.click(complete, [model_dd, k_img, k_class, k_invert, k_top, k_bottom, k_left, k_right, k_steps,
                                   k_lr, k_seed], [k_out, k_curve, k_note], api_name="complete", concurrency_limit=1)

    def fill_single(model_name, evt: gr.SelectData):
        loaded = REGISTRY.load(model_name)
        index = evt.index if isinstance(evt.index, int) else evt.index[0]
        return str(loaded.examples[index])

    for image, gallery, _ in singles:
        gallery.select(fill_single, [model_dd], image, api_name=f"pick_{image.elem_id.replace('-', '_')}",
                       api_visibility="private")

    def switch_model(model_name):
        loaded = REGISTRY.load(model_name)
        model = loaded.model
        conditional, grey = model.num_classes is not None, model.in_channels == 1
        picks = distinct_examples(loaded, 4)
        updates = {model_md: REGISTRY.describe(loaded),
                   s_class: gr.update(choices=class_choices(model, ALL_CLASSES), value="all", visible=conditional),
                   c1: picks[0], c2: picks[1], c3: picks[2], c4: picks[3]}
        for dd in classes:
            updates[dd] = gr.update(choices=class_choices(model, AUTO_CLASS), value="auto", visible=conditional)
        for radio in inverts:
            updates[radio] = gr.update(visible=grey)
        for gallery in galleries:
            updates[gallery] = example_items(loaded)
        for image, _, k in singles:
            updates[image] = picks[k]
        return updates

    model_dd.change(switch_model, [model_dd],
                    [model_md, s_class, c1, c2, c3, c4, *classes, *inverts, *galleries, *(s[0] for s in singles)],
                    api_name="select_model", api_visibility="private")
    gr.api(model_info, api_name="model_info")


if __name__ == "__main__":
    demo.queue(**QUEUE).launch(**launch_options())

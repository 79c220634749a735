"""Checking what a request asks for: numbers in range, seeds, choices, classes, images, rectangles.

Every refusal is a `gr.Error` whose message says what was wrong; `user_errors` turns any other
failure of a handler into such a message too (never a stack trace on the page).
"""
from __future__ import annotations

import functools
import logging
import math
import os
import random

import gradio as gr
import torch

from realnvp import CheckpointError, NonFiniteError
from realnvp import classes, inpainting

from .images import ImageInputError, open_image, prepare_image

log = logging.getLogger("realnvp.app")

MAX_SAMPLES = 100
MAX_TEMPERATURE = 1.5
MAX_GRID = 10
MAX_STEPS = 16
MAX_COMPLETION_STEPS = 500
MAX_SEED = 2**31 - 1
MAX_SIDE = 256 if torch.cuda.is_available() else 128  # own-resolution evaluation: longer side cap
NO_IMAGE = "Upload an image or pick an example first."
INVERT = {"auto": "auto", "yes": True, "no": False, True: True, False: False, None: "auto"}


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


def number(value, name: str, low: float, high: float, integer: bool = False):
    """`value` as a float (or a rounded int) in [low, high]; None, text and NaN are refused."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise gr.Error(f"{name} is missing; give a number between {shown(low)} and {shown(high)}.")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise gr.Error(f"{name} must be a number, got {value!r}.") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise gr.Error(f"{name} must lie between {shown(low)} and {shown(high)}, got {shown(value)}.")
    return int(round(value)) if integer else value


def shown(value: float) -> str:
    """A number as a message shows it: whole numbers in full (2147483647, not 2.14748e+09)."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def seed(value, randomize: bool = False) -> int:
    """The seed to use: a fresh random one when `randomize`, else `value` in [0, 2**31 - 1]."""
    if randomize:
        return random.randrange(2**31)
    return number(value, "Seed", 0, MAX_SEED, integer=True)


def one_of(value, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise gr.Error(f"{name} must be " + " or ".join(repr(c) for c in choices) + f", got {value!r}.")
    return value


def invert(choice) -> bool | str:
    """The Invert radio's value ('auto', 'yes', 'no') as prepare_image's argument."""
    if choice not in INVERT:
        raise gr.Error(f"invert must be 'auto', 'yes' or 'no', got {choice!r}.")
    return INVERT[choice]


def class_label(model, choice, x: torch.Tensor | None = None) -> tuple[int | None, str]:
    """The class to condition on, and how to name it in a note: None for unconditional models;
    'auto' picks the class under which the image x is most likely."""
    if model.num_classes is None:
        return None, ""
    if choice in (None, "", "auto"):
        if x is None:
            raise gr.Error("Pick a class.")
        with torch.inference_mode():
            posterior = classes.class_posterior(model, x)
        best = int(posterior.argmax())
        return best, (f"class {best} (the most likely under the model: p(y|x) = {posterior[best].item():.3f}, "
                      f"uniform prior)")
    try:
        y = int(str(choice).strip())
    except ValueError:
        raise gr.Error(f"class must be 'auto' or a number 0-{model.num_classes - 1}, got {choice!r}.") from None
    if not 0 <= y < model.num_classes:
        raise gr.Error(f"class must lie between 0 and {model.num_classes - 1}, got {y}.")
    return y, f"class {y}"


def model_input(model, image, invert_choice="auto", resolution="model", what="image",
                shape: tuple[int, int] | None = None) -> torch.Tensor:
    """An uploaded or example image file -> (1, C, H, W) input of `model`, on the model's device:
    at the model's size, or at its own (capped at MAX_SIDE, cropped to the size multiple; a model
    with class means in latent space works at its own size only), or at `shape` (height, width)
    where given: the second image of a pair at the first's size."""
    image = image_path(image, what)
    one_of(resolution, "resolution", ("model", "own"))
    own_size = resolution == "own" and not model.fixed_image_size  # class means fix a model's size
    size = shape if shape is not None else None if own_size else model.image_size
    try:
        x = prepare_image(image, model.in_channels, size,
                          model.num_levels, multiple=model.size_multiple, max_side=MAX_SIDE,
                          invert=invert(invert_choice))
    except ImageInputError as error:
        raise image_error(error, what) from None
    return x.to(next(model.parameters()).device)


def image_path(image, what: str = "image"):
    """The file of an image input, refused when there is none."""
    if image is None or image == "":
        raise gr.Error(NO_IMAGE if what == "image" else f"{what} is empty: upload an image or pick an example.")
    if isinstance(image, dict):  # a FileData dict, e.g. from an API call with a raw payload
        image = image.get("path")
    return image


def image_error(error: ImageInputError, what: str) -> gr.Error:
    return gr.Error(("" if what == "image" else f"{what}: ") + str(error))


def readable_image(image, what: str = "image", required: bool = True) -> None:
    """model_input's checks of the file alone, without the model: there is one (when `required`) and
    it decodes. Refused with the same message model_input gives."""
    if not required and image in (None, ""):
        return
    try:
        open_image(image_path(image, what))
    except ImageInputError as error:
        raise image_error(error, what) from None


def uploaded_file(path: str) -> str:
    """`path`, if it lies in Gradio's upload folder: uploads, and the page's example images, which Gradio
    copies there. Gradio 6 passes an image payload without its FileData marker straight to the app
    (`{"path": "/etc/..."}` in a REST call), so the file named by a request is checked here: any other
    file on the server is refused without saying whether it exists."""
    from gradio.utils import get_upload_folder

    folder = os.path.realpath(get_upload_folder())
    real = os.path.realpath(path)
    if os.path.commonpath([folder, real]) != folder:
        raise quiet(gr.Error("Upload the image (or pick an example): files on the server cannot be named in a "
                             "request."))
    return path


def erase_rectangle(x: torch.Tensor, top, bottom, left, right) -> torch.Tensor:
    """(1, 1, H, W) bool mask of the rectangle to erase, its edges given as fractions of x's size."""
    fractions = [number(value, name, 0, 1) for value, name in
                 ((top, "Top"), (bottom, "Bottom"), (left, "Left"), (right, "Right"))]
    return inpainting.rectangle_mask(x.shape[2], x.shape[3], *fractions).to(x.device)

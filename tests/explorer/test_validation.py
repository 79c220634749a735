"""explorer.validation: what each request may ask for, and the message when it asks for something else."""
import inspect
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import torch
from PIL import Image

from helpers import tiny_model
from explorer import validation
from explorer.images import ImageInputError
from realnvp import CheckpointError, NonFiniteError


def message(error: pytest.ExceptionInfo) -> str:
    return error.value.message


def test_number():
    assert validation.number("0.5", "Temperature", 0, 1.5) == 0.5
    assert validation.number(63.6, "Number of samples", 1, 100, integer=True) == 64
    assert isinstance(validation.number(3.0, "Steps", 2, 16, integer=True), int)
    for value, expected in ((None, "Seed is missing; give a number between 0 and 10."),
                            ("  ", "Seed is missing"),
                            ("seven", "Seed must be a number, got 'seven'."),
                            (float("nan"), "Seed must lie between 0 and 10, got nan."),
                            (float("inf"), "Seed must lie between 0 and 10"),
                            (-1, "Seed must lie between 0 and 10, got -1."),
                            (10.5, "Seed must lie between 0 and 10, got 10.5.")):
        with pytest.raises(gr.Error) as error:
            validation.number(value, "Seed", 0, 10)
        assert message(error).startswith(expected), (value, message(error))


def test_seed():
    assert validation.seed(7) == 7 and validation.seed("7", randomize=False) == 7
    drawn = {validation.seed(None, randomize=True) for _ in range(20)}  # the value is ignored
    assert len(drawn) > 1 and all(0 <= s <= validation.MAX_SEED for s in drawn)
    with pytest.raises(gr.Error, match="must lie between 0 and 2147483647"):
        validation.seed(2**31)


def test_choices():
    assert [validation.invert(c) for c in ("auto", "yes", "no", None, True)] == ["auto", True, False, "auto", True]
    with pytest.raises(gr.Error, match="invert must be 'auto', 'yes' or 'no', got 'maybe'"):
        validation.invert("maybe")
    assert validation.one_of("zero", "mode", ("resample", "zero")) == "zero"
    with pytest.raises(gr.Error, match="mode must be 'resample' or 'zero', got 'blur'"):
        validation.one_of("blur", "mode", ("resample", "zero"))


def test_class_label():
    assert validation.class_label(tiny_model(size=8), "3") == (None, "")  # unconditional: no class
    model = tiny_model(size=8, num_classes=4)
    assert validation.class_label(model, " 2 ") == (2, "class 2")
    x = torch.rand(1, 1, 8, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    label, text = validation.class_label(model, "auto", x)
    log_p = torch.stack([model.log_prob(x, y) for y in range(4)]).squeeze(1)
    assert label == int(log_p.argmax()) and f"class {label} (the most likely" in text and "p(y|x) = " in text
    for choice, expected in (("4", "class must lie between 0 and 3, got 4"),
                             ("seven", "class must be 'auto' or a number 0-3, got 'seven'")):
        with pytest.raises(gr.Error, match=expected):
            validation.class_label(model, choice, x)
    with pytest.raises(gr.Error, match="Pick a class"):
        validation.class_label(model, "auto")  # nothing to guess from


def png_file(path, array):
    Image.fromarray(array).save(path)
    return str(path)


def test_model_input(tmp_path):
    model = tiny_model(size=8, dtype=torch.float32)
    photo = png_file(tmp_path / "photo.png", np.random.default_rng(0).integers(0, 256, (300, 200), dtype=np.uint8))
    assert validation.model_input(model, photo).shape == (1, 1, 8, 8)
    assert validation.model_input(model, {"path": photo}).shape == (1, 1, 8, 8)  # a raw FileData payload
    own = validation.model_input(model, photo, resolution="own")
    assert max(own.shape[2:]) <= validation.MAX_SIDE and own.shape[2] % model.size_multiple == 0
    assert own.shape[2:] != (8, 8)
    # class means in latent space fix the model's size: "own" resolution gives the model's
    means = tiny_model(size=8, dtype=torch.float32, num_classes=3, conditioning="latent_means")
    assert validation.model_input(means, photo, resolution="own").shape == (1, 1, 8, 8)
    with pytest.raises(gr.Error, match="Upload an image or pick an example first"):
        validation.model_input(model, None)
    with pytest.raises(gr.Error, match="Corner 2 is empty: upload an image or pick an example"):
        validation.model_input(model, "", what="Corner 2")
    with pytest.raises(gr.Error, match="resolution must be 'model' or 'own'"):
        validation.model_input(model, photo, resolution="native")
    broken = tmp_path / "broken.png"
    broken.write_text("not an image")
    with pytest.raises(gr.Error) as error:
        validation.model_input(model, str(broken), what="Corner 3")
    assert message(error).startswith("Corner 3: broken.png is not an image format this app can read")


def test_readable_image_refuses_what_model_input_refuses_with_the_same_message(tmp_path):
    model = tiny_model(size=8, dtype=torch.float32)
    photo = png_file(tmp_path / "photo.png", np.random.default_rng(0).integers(0, 256, (30, 20), dtype=np.uint8))
    broken, empty = tmp_path / "broken.png", tmp_path / "empty.jpg"
    broken.write_text("not an image")
    empty.write_bytes(b"")
    validation.readable_image(photo)
    validation.readable_image({"path": photo}, "Image A")
    validation.readable_image(None, required=False)
    for image, what in ((None, "image"), ("", "Corner 2"), (str(broken), "Corner 3"), (str(empty), "image"),
                        ({"path": str(broken)}, "Image B")):
        with pytest.raises(gr.Error) as refused:
            validation.readable_image(image, what)
        with pytest.raises(gr.Error) as by_model_input:
            validation.model_input(model, image, what=what)
        assert message(refused) == message(by_model_input), (image, what)
    with pytest.raises(gr.Error, match="broken.png is not an image format"):
        validation.readable_image(str(broken), required=False)  # optional, but given: still read


def test_uploaded_file_must_lie_in_the_upload_folder(tmp_path):
    import shutil
    import tempfile

    from gradio.utils import get_upload_folder

    folder = Path(get_upload_folder())
    folder.mkdir(parents=True, exist_ok=True)
    uploads = Path(tempfile.mkdtemp(dir=folder))
    try:
        inside = png_file(uploads / "digit.png", np.zeros((4, 4), np.uint8))
        assert validation.uploaded_file(inside) == inside
        outside = png_file(tmp_path / "photo.png", np.zeros((4, 4), np.uint8))
        link = uploads / "link.png"  # a link in the upload folder to a file outside it
        link.symlink_to(outside)
        for path in (outside, str(link), "/etc/hostname", str(folder / ".." / "elsewhere.png"), "/no/such/file.png"):
            with pytest.raises(gr.Error, match="files on the server cannot be named in a request"):
                validation.uploaded_file(path)
    finally:
        shutil.rmtree(uploads)


def test_erase_rectangle():
    x = torch.zeros(1, 1, 10, 8)
    mask = validation.erase_rectangle(x, 0.5, 1.0, "0", 0.5)
    assert mask.shape == (1, 1, 10, 8) and int(mask.sum()) == 20
    with pytest.raises(gr.Error, match="Bottom must lie between 0 and 1, got 1.5"):
        validation.erase_rectangle(x, 0.5, 1.5, 0, 1)


@pytest.mark.parametrize("raised, expected", [
    (gr.Error("Pick a class."), "Pick a class."),
    (ImageInputError("upload.png is empty (0 bytes)"), "upload.png is empty (0 bytes)"),
    (CheckpointError("config.json: bad"), "config.json: bad"),
    (NonFiniteError("scales.0 (ChannelCoupling)"), "The model produced non-finite values for this input"),
    (ValueError("nothing is erased"), "Invalid input: nothing is erased"),
    (MemoryError(), "Out of memory"),
    (RuntimeError("boom"), "Something went wrong (RuntimeError); try another input."),
])
def test_user_errors_turn_every_failure_into_a_message(raised, expected):
    @validation.user_errors
    def handler(model_name, image, class_choice="auto"):
        raise raised

    with pytest.raises(gr.Error) as error:
        handler("mnist", None)
    assert message(error).startswith(expected)
    assert error.value.print_exception is False  # one log line, not a traceback
    assert error.value.__cause__ is None and error.value.__suppress_context__


def test_user_errors_keep_the_signature_and_the_result():
    """The API's parameter names come from the handler's signature: the decorator must keep it."""
    @validation.user_errors
    def handler(model_name, image, class_choice="auto"):
        return model_name, class_choice

    assert list(inspect.signature(handler).parameters) == ["model_name", "image", "class_choice"]
    assert handler.__name__ == "handler" and handler("mnist", None) == ("mnist", "auto")

"""The app (app.py over the explorer package) through its HTTP API (gradio_client): every
endpoint, the content of its outputs, and bad inputs, each refused with a clear message while the
app keeps answering.

One app per module, started in this process on a free port. No network: the Hub models come
from a hand-built offline cache (see app_env.py).
"""
from __future__ import annotations

import io
import json
import math
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app_env import MISSING_REPO, RGB_REPO, import_app

pytestmark = [pytest.mark.slow,
              # Gradio's queue statistics use pandas options that pandas 3 deprecates
              pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")]

app = import_app()
from gradio_client import handle_file  # noqa: E402

from explorer.images import enlarge  # noqa: E402

EXAMPLES = Path(app.__file__).parent / "assets" / "examples"
DIGIT = {d: EXAMPLES / "mnist" / f"digit{d}_0.png" for d in range(10)}
ENDPOINTS = {"/sample", "/manifold", "/interpolate", "/per_scale", "/likelihood", "/erase_preview", "/complete",
             "/model_info", "/mix_scales", "/animate", "/classify", "/ood", "/completions", "/layers",
             "/direction", "/restyle"}


def read(path) -> np.ndarray:
    """An output image: an 8-bit RGB PNG, as a (H, W, 3) uint8 array."""
    with Image.open(path) as image:
        assert image.format == "PNG" and image.mode == "RGB", (image.format, image.mode)
        array = np.asarray(image)
    assert array.dtype == np.uint8
    return array


def assert_not_blank(array: np.ndarray, min_std: float = 5.0) -> None:
    assert array.std() > min_std, f"image looks blank (std {array.std():.2f})"


def displayed(h: int, w: int) -> tuple[int, int]:
    """Size of a result image of h x w pixels after the app's enlargement for display."""
    return enlarge(np.zeros((h, w, 3), np.uint8)).shape[:2]


def grid_side(n: int, size: int = 28, pad: int = 2) -> int:
    return n * (size + pad) + pad


def tile(grid: np.ndarray, row: int, col: int, size: int, factor: int, pad: int = 2) -> np.ndarray:
    """One tile of an enlarged grid_image, shrunk back to size x size (greyscale)."""
    top, left = (pad + row * (size + pad)) * factor, (pad + col * (size + pad)) * factor
    return grid[top:top + size * factor:factor, left:left + size * factor:factor, 0]


def pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("L"))


def sample(client, model="mnist", n=16, temperature=0.8, seed=1, randomize=False, label="all", per_scale=False,
           coarse=1.0, fine=0.5):
    return client.predict(model, n, temperature, seed, randomize, label, per_scale, coarse, fine, api_name="/sample")


def likelihood(client, image, model="mnist", label="auto", invert="auto", resolution="model"):
    return client.predict(model, handle_file(str(image)), label, invert, resolution, api_name="/likelihood")


def still_answers(client):
    path, seed, _ = sample(client, n=1, seed=3)
    assert seed == 3 and read(path).shape == displayed(28, 28) + (3,)  # a single sample: no padding


# ----------------------------------------------------------------------------- the API
def test_every_endpoint_is_named(client):
    api = client.view_api(return_format="dict", print_info=False)
    assert set(api["named_endpoints"]) == ENDPOINTS
    params = {name: [p["parameter_name"] for p in ep["parameters"]] for name, ep in api["named_endpoints"].items()}
    assert params["/sample"] == ["model_name", "num_samples", "temperature", "seed", "randomize_seed", "class_choice",
                                 "per_scale", "coarse_temperature", "fine_temperature"]
    assert params["/likelihood"] == ["model_name", "image", "class_choice", "invert", "resolution"]
    assert params["/mix_scales"] == ["model_name", "image_a", "image_b", "class_choice", "invert", "resolution"]
    assert params["/animate"] == ["model_name", "corner1", "corner2", "corner3", "corner4", "class_choice", "invert",
                                  "walk", "frames", "fps", "fmt"]
    assert params["/classify"] == ["model_name", "image", "invert"]
    assert params["/ood"] == ["model_name", "image", "invert", "other", "codec"]
    assert params["/completions"] == ["model_name", "image", "class_choice", "invert", "region", "top", "bottom",
                                      "left", "right", "brush", "method", "count", "steps", "langevin_steps",
                                      "temperature", "learning_rate", "seed"]


def test_model_info(client):
    info = client.predict("mnist", api_name="/model_info")
    assert info["channels"] == 1 and info["image_size"] == 28 and info["num_classes"] is None
    assert "digit3_0.png" in info["examples"] and info["message"] == ""
    ref = json.loads((EXAMPLES.parent / "models" / "mnist" / "reference.json").read_text())
    assert info["mean_test_bpd"] == pytest.approx(ref["mean_test_bpd"])
    assert f"test bits/dim {ref['mean_test_bpd']:.3f}" in info["description"]
    assert client.predict("mnist-cond", api_name="/model_info")["num_classes"] == 10
    rgb = client.predict(RGB_REPO, api_name="/model_info")
    assert (rgb["name"], rgb["channels"], rgb["image_size"], rgb["message"]) == (RGB_REPO, 3, 16, "")
    missing = client.predict(MISSING_REPO, api_name="/model_info")
    assert missing["name"] == "mnist" and missing["requested"] == MISSING_REPO
    assert missing["message"].startswith(f"could not reach the Hub for {MISSING_REPO}")
    assert "showing the bundled model 'mnist' instead" in missing["description"]


# ----------------------------------------------------------------------------- Sample
def test_sample_grid(client):
    path, seed, note = sample(client, n=64, temperature=0.8, seed=1)
    grid = read(path)
    assert grid.shape == displayed(grid_side(8), grid_side(8)) + (3,)
    assert_not_blank(grid)
    assert seed == 1 and "64 samples" in note and "seed 1" in note
    _, random_seed, _ = sample(client, n=4, randomize=True)
    assert isinstance(random_seed, (int, float)) and 0 <= random_seed < 2**31


def test_sample_temperature_zero_is_deterministic_and_seeds_matter(client):
    zero_a = read(sample(client, temperature=0.0, seed=1)[0])
    zero_b = read(sample(client, temperature=0.0, seed=2)[0])
    assert np.array_equal(zero_a, zero_b)  # z = 0 whatever the seed
    one = read(sample(client, temperature=0.8, seed=1)[0])
    again = read(sample(client, temperature=0.8, seed=1)[0])
    two = read(sample(client, temperature=0.8, seed=2)[0])
    assert np.array_equal(one, again)
    assert not np.array_equal(one, two)
    # per-scale temperatures: all zero is the zero latent again; otherwise they are listed
    assert np.array_equal(read(sample(client, seed=5, per_scale=True, coarse=0.0, fine=0.0)[0]), zero_a)
    _, _, note = sample(client, per_scale=True, coarse=1.2, fine=0.3)
    assert "finest first: 0.30, 1.20" in note


def test_sample_class_conditional(client):
    three = read(sample(client, "mnist-cond", n=9, label="3", seed=4)[0])
    five = read(sample(client, "mnist-cond", n=9, label="5", seed=4)[0])
    assert three.shape == displayed(grid_side(3), grid_side(3)) + (3,)
    assert_not_blank(three)
    assert not np.array_equal(three, five)  # same latents, another class
    path, _, note = sample(client, "mnist-cond", n=20, label="all", seed=4)
    assert read(path).shape == displayed(grid_side(2), grid_side(10)) + (3,)  # one column per class
    assert "one per column" in note
    with pytest.raises(Exception, match="class must lie between 0 and 9"):
        sample(client, "mnist-cond", label="12")
    with pytest.raises(Exception, match="class must be 'auto' or a number"):
        sample(client, "mnist-cond", label="seven")
    path, _, _ = sample(client, "mnist", label="3")  # ignored by an unconditional model
    assert_not_blank(read(path))


def test_sample_colour_model_from_hub_cache(client):
    path, _, note = sample(client, RGB_REPO, n=4, seed=0)
    grid = read(path)
    assert grid.shape == displayed(grid_side(2, 16), grid_side(2, 16)) + (3,)
    inner = grid[10:-10, 10:-10].reshape(-1, 3).astype(int)
    assert np.abs(inner[:, 0] - inner[:, 1]).max() > 0  # colour, not grey
    assert RGB_REPO in note


def test_sample_unreachable_hub_model_falls_back(client):
    path, _, note = sample(client, MISSING_REPO, n=4)
    assert "from mnist" in note
    assert_not_blank(read(path))


def test_sample_refuses_out_of_range_values(client):
    for kwargs in ({"temperature": 5.0}, {"n": 0}, {"n": 1000}, {"seed": -1}):
        with pytest.raises(Exception, match="(greater than maximum|less than minimum|must lie between)"):
            sample(client, **kwargs)
    with pytest.raises(Exception, match="not in the list of choices"):
        sample(client, "no-such-model")
    still_answers(client)


# ----------------------------------------------------------------------------- Interpolate
def test_manifold(client):
    corners = [DIGIT[d] for d in (0, 1, 2, 7)]
    path, note = client.predict("mnist", *map(handle_file, map(str, corners)), "auto", "auto", 4,
                                api_name="/manifold")
    grid = read(path)
    assert grid.shape == displayed(grid_side(4), grid_side(4)) + (3,)
    assert_not_blank(grid)
    factor = grid.shape[0] // grid_side(4)
    for (row, col), corner in zip([(0, 0), (0, 3), (3, 0), (3, 3)], corners):
        # the corners of the manifold are the four images themselves (exact encode/decode)
        assert np.abs(tile(grid, row, col, 28, factor).astype(int) - pixels(corner)).max() <= 1
    assert "4×4 grid" in note


def test_interpolate_pair(client):
    path, note = client.predict("mnist", handle_file(str(DIGIT[1])), handle_file(str(DIGIT[8])), "auto", "auto", 6,
                                api_name="/interpolate")
    row = read(path)
    assert row.shape == displayed(grid_side(1), grid_side(6)) + (3,)
    factor = row.shape[0] // grid_side(1)
    assert np.abs(tile(row, 0, 0, 28, factor).astype(int) - pixels(DIGIT[1])).max() <= 1
    assert np.abs(tile(row, 0, 5, 28, factor).astype(int) - pixels(DIGIT[8])).max() <= 1
    middle = tile(row, 0, 2, 28, factor).astype(int)
    assert np.abs(middle - pixels(DIGIT[1])).max() > 10 and np.abs(middle - pixels(DIGIT[8])).max() > 10
    assert "6 steps" in note


def test_interpolation_class_conditional_and_missing_corner(client):
    path, note = client.predict("mnist-cond", *[handle_file(str(DIGIT[d])) for d in (3, 3, 5, 5)], "3", "auto", 3,
                                api_name="/manifold")
    assert_not_blank(read(path))
    assert "class 3" in note
    with pytest.raises(Exception, match="Corner 2 is empty"):
        client.predict("mnist", handle_file(str(DIGIT[1])), None, "auto", "auto", 4, api_name="/interpolate")


# ----------------------------------------------------------------------------- Per-scale reconstruction
def per_scale(client, image, model="mnist", mode="resample", resolution="model", label="auto", temperature=1.0):
    return client.predict(model, handle_file(str(image)), label, "auto", resolution, mode, temperature, 0,
                          api_name="/per_scale")


def test_per_scale_reconstruction(client):
    items, note = per_scale(client, DIGIT[4])
    captions = [item["caption"] for item in items]
    assert captions == ["input (28×28)", "all scales (exact)", "1 coarsest scale", "no scale kept"]
    images = [read(item["image"]) for item in items]
    assert all(im.shape == displayed(28, 28) + (3,) for im in images)
    assert np.abs(images[0].astype(int) - images[1]).max() <= 1  # the exact reconstruction
    assert np.abs(images[0].astype(int) - images[3]).max() > 10  # nothing kept: another image
    error = float(re.search(r"= ([0-9.e+-]+)", note).group(1))
    assert 0 <= error < 1e-3
    zero_items, _ = per_scale(client, DIGIT[4], mode="zero")
    assert np.array_equal(read(zero_items[1]["image"]), images[1])


def test_per_scale_own_resolution_and_colour(client, tmp_path):
    odd = tmp_path / "odd.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (53, 37), dtype=np.uint8)).save(odd)
    items, _ = per_scale(client, odd, resolution="own")
    assert items[0]["caption"] == "input (36×52)"
    assert read(items[1]["image"]).shape == displayed(52, 36) + (3,)
    items, _ = per_scale(client, photo(tmp_path), model=RGB_REPO)
    assert items[0]["caption"] == "input (16×16)" and len(items) == 4
    assert_not_blank(read(items[0]["image"]))
    items, note = per_scale(client, DIGIT[6], model="mnist-cond")
    assert "Conditioned on class" in note


# ----------------------------------------------------------------------------- Likelihood
def check_likelihood(result, shape):
    heat, bpd, table, hist, note, bits_file, sizes = result  # the size comparison came last (outputs kept in order)
    heat = read(heat)
    assert heat.shape == (400, 800, 3)
    assert_not_blank(heat)
    bits = np.load(bits_file)
    assert bits.shape == shape and np.isfinite(bits).all()
    assert bits.mean() == pytest.approx(bpd, abs=1e-3)  # the heatmap's pixels average to the bits/dim shown
    rows = {name: value for name, value in table["data"]}
    total = rows.pop("total (bits/dim)")
    assert total == pytest.approx(bpd, abs=1e-5)
    assert sum(rows.values()) == pytest.approx(bpd, abs=1e-4)  # the breakdown sums to the total
    assert any(name.startswith("prior") for name in rows) and any("dequantization" in name for name in rows)
    assert f"{bpd:.4f} bits/dim" in note
    assert sizes["headers"] == ["coding", "bytes", "bits/dim"]
    (_, flow, flow_bpd), (_, png, png_bpd), (_, webp, webp_bpd) = sizes["data"]
    values = 8 * png / png_bpd  # D, the values of the image scored (C × H × W)
    assert round(values) in (shape[0] * shape[1], 3 * shape[0] * shape[1])
    assert flow_bpd == bpd and flow == pytest.approx(bpd * values / 8, abs=1e-3)
    assert webp_bpd == pytest.approx(8 * webp / values, abs=1e-6)
    return heat, hist, note


def test_likelihood(client):
    result = likelihood(client, DIGIT[7])
    _, hist, note = check_likelihood(result, (28, 28))
    assert_not_blank(read(hist))
    assert re.search(r"more likely \(fewer bits/dim\) than [0-9.]+% of the 1,000 `mnist5k` test images", note)
    assert sum(1 for name, _ in result[2]["data"] if name.startswith("log-det")) == 2  # one per scale


def test_likelihood_own_resolution_colour_and_class(client, tmp_path):
    check_likelihood(likelihood(client, photo(tmp_path, 64, 48), resolution="own"), (48, 64))
    heat, hist, note = check_likelihood(likelihood(client, photo(tmp_path), model=RGB_REPO), (16, 16))
    assert hist is None and "No test-set reference" in note
    _, _, note = check_likelihood(likelihood(client, DIGIT[2], model="mnist-cond"), (28, 28))
    assert "the most likely under the model" in note
    _, _, note = check_likelihood(likelihood(client, DIGIT[2], model="mnist-cond", label="2"), (28, 28))
    assert "class 2." in note


# ----------------------------------------------------------------------------- Complete
def complete(client, image=DIGIT[9], model="mnist", top=0.5, bottom=1.0, left=0.0, right=1.0, steps=20, label="auto"):
    return client.predict(model, handle_file(str(image)), label, "auto", top, bottom, left, right, steps, 0.05, 0,
                          api_name="/complete")


def test_complete(client):
    filled, curve, note = complete(client)
    filled = read(filled)
    assert filled.shape == displayed(28, 28) + (3,)
    factor = filled.shape[0] // 28
    small = filled[::factor, ::factor, 0].astype(int)
    assert np.array_equal(small[:14], pixels(DIGIT[9])[:14])  # the known half is untouched
    assert_not_blank(read(curve))
    start, end = map(float, re.search(r"steps: ([0-9.]+) → ([0-9.]+) bits/dim", note).groups())
    assert end < start  # the optimization raises the likelihood
    assert "Filled 392 of 784 pixels in 20 steps" in note and "the original image: " in note
    preview = read(client.predict("mnist", handle_file(str(DIGIT[9])), "auto", 0.5, 1.0, 0.0, 1.0,
                                  api_name="/erase_preview"))
    assert preview.shape == displayed(28, 28) + (3,)
    reds = preview[..., 0].astype(int) - preview[..., 1]
    assert (reds[: preview.shape[0] // 2] == 0).all() and (reds[-factor:] > 50).all()


def test_complete_class_conditional_colour_and_bad_rectangles(client, tmp_path):
    _, _, note = complete(client, model="mnist-cond", label="9", steps=10)
    assert "Conditioned on class 9" in note
    filled, _, _ = complete(client, photo(tmp_path), model=RGB_REPO, top=0.25, bottom=0.75, left=0.25, right=0.75,
                            steps=10)
    assert read(filled).shape == displayed(16, 16) + (3,)
    with pytest.raises(Exception, match="the rectangle is empty"):
        complete(client, top=0.8, bottom=0.2)
    with pytest.raises(Exception, match="Upload an image or pick an example first"):
        client.predict("mnist", None, "auto", "auto", 0.5, 1.0, 0.0, 1.0, 10, 0.05, 0, api_name="/complete")
    still_answers(client)


# ----------------------------------------------------------------------------- uploads of every kind
def photo(tmp_path, width=120, height=90) -> Path:
    """A colour photograph (skimage's astronaut), resized, as PNG."""
    import skimage.data

    path = tmp_path / f"astronaut_{width}x{height}.png"
    Image.fromarray(skimage.data.astronaut()).resize((width, height)).save(path)
    return path


def png_with_header_only(path: Path, width: int, height: int) -> Path:
    """A valid PNG signature and IHDR claiming width x height, with a tiny IDAT: a decompression bomb's header."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


def bad_file(kind: str, tmp_path: Path) -> Path:
    path = tmp_path / f"{kind}.png"
    if kind == "text-renamed":
        path.write_text("this is not an image\n" * 20)
    elif kind == "truncated":
        buffer = io.BytesIO()
        Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64), dtype=np.uint8)).save(buffer, "PNG")
        data = buffer.getvalue()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "huge":
        Image.new("1", (12000, 12000)).save(path)  # 144 megapixels, 17 kB on disk
    elif kind == "bomb-header":
        png_with_header_only(path, 100_000, 100_000)
    return path


BAD = {
    "text-renamed": "is not an image format this app can read",
    "truncated": "is damaged or truncated",
    "empty": "is empty (0 bytes)",
    "huge": "has too many pixels to open safely",
    "bomb-header": "has too many pixels to open safely",
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_uploads_are_refused_clearly(client, tmp_path, kind):
    path = bad_file(kind, tmp_path)
    with pytest.raises(Exception, match=re.escape(BAD[kind])) as error:
        likelihood(client, path)
    assert path.name in str(error.value) and "Traceback" not in str(error.value)
    with pytest.raises(Exception, match=re.escape(BAD[kind])):
        client.predict("mnist", handle_file(str(path)), "auto", "auto", "model", "resample", 1.0, 0,
                       api_name="/per_scale")
    still_answers(client)


def test_too_large_a_file_is_refused(client, tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(np.random.default_rng(0).bytes(11 * 1024 * 1024))
    with pytest.raises(Exception, match="exceeds the maximum file size"):
        likelihood(client, path)
    still_answers(client)


def good_file(kind: str, tmp_path: Path) -> Path:
    rng = np.random.default_rng(2)
    digit = np.asarray(Image.open(DIGIT[5]))
    if kind == "16-bit-grey":
        path = tmp_path / "grey16.png"
        Image.fromarray(digit.astype(np.uint16) * 257).save(path)
        assert Image.open(path).mode.startswith("I")
    elif kind == "palette":
        path = tmp_path / "palette.png"
        Image.fromarray(np.stack([digit] * 3, -1)).convert("P", palette=Image.Palette.ADAPTIVE, colors=256).save(path)
        assert Image.open(path).mode == "P"
    elif kind == "rgba-transparent":
        path = tmp_path / "rgba.png"
        rgba = np.zeros((28, 28, 4), np.uint8)
        rgba[..., 3] = digit  # a black digit on a transparent background
        Image.fromarray(rgba, "RGBA").save(path)
    elif kind == "cmyk-jpeg":
        path = tmp_path / "cmyk.jpg"
        Image.fromarray(np.stack([digit] * 3, -1)).convert("CMYK").save(path, "JPEG", quality=95)
        assert Image.open(path).mode == "CMYK"
    elif kind == "1x1":
        path = tmp_path / "one.png"
        Image.new("L", (1, 1), 200).save(path)
    elif kind == "37x53":
        path = tmp_path / "odd.png"
        Image.fromarray(rng.integers(0, 256, (53, 37, 3), dtype=np.uint8)).save(path)
    elif kind == "animated-gif":
        path = tmp_path / "anim.gif"
        frames = [Image.fromarray(np.roll(digit, 3 * i, axis=1)) for i in range(4)]
        frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
        assert Image.open(path).n_frames == 4
    elif kind == "jpeg-as-png":  # a JPEG with a .png name
        path = tmp_path / "really-a-jpeg.png"
        Image.fromarray(digit).save(path, "JPEG")
    elif kind == "photo":
        path = photo(tmp_path)
    return path


GOOD = ["16-bit-grey", "palette", "rgba-transparent", "cmyk-jpeg", "1x1", "37x53", "animated-gif", "jpeg-as-png",
        "photo"]


@pytest.mark.parametrize("kind", GOOD)
def test_unusual_uploads_work(client, tmp_path, kind):
    path = good_file(kind, tmp_path)
    heat, bpd, *_ = likelihood(client, path)
    assert math.isfinite(bpd) and 0 < bpd < 50
    assert_not_blank(read(heat))
    if kind in ("16-bit-grey", "palette", "rgba-transparent", "animated-gif"):
        # the same digit however it is stored losslessly (an animation: its first frame, the digit
        # itself): the same model input, the same bits/dim
        _, reference_bpd, *_ = likelihood(client, DIGIT[5])
        assert bpd == pytest.approx(reference_bpd, abs=1e-5)
    if kind == "jpeg-as-png":
        # read by its content, not its name: exactly the pixels Pillow decodes from the JPEG
        decoded = tmp_path / "decoded.png"
        with Image.open(path, formats=["JPEG"]) as jpeg:
            jpeg.save(decoded)
        _, reference_bpd, *_ = likelihood(client, decoded)
        assert bpd == pytest.approx(reference_bpd, abs=1e-5)
    items, _ = per_scale(client, path, model=RGB_REPO)  # greyscale into a colour model works too
    assert len(items) == 4


def test_own_resolution_needs_at_least_the_size_multiple(client, tmp_path):
    with pytest.raises(Exception, match="it must be at least 2x2 pixels"):
        likelihood(client, good_file("1x1", tmp_path), resolution="own")
    still_answers(client)


# ----------------------------------------------------------------------------- Mix scales
def mix(client, a, b, model="mnist", resolution="model", label="auto"):
    return client.predict(model, handle_file(str(a)), handle_file(str(b)), label, "auto", resolution,
                          api_name="/mix_scales")


def test_mix_scales(client):
    items, note = mix(client, DIGIT[3], DIGIT[7])
    captions = [item["caption"] for item in items]
    assert captions == ["A (28×28)", "B", "k = 2: all from A", "k = 1: 1 coarse A + 1 fine B", "k = 0: all from B"]
    a, b, all_a, middle, all_b = (read(item["image"]).astype(int) for item in items)
    assert a.shape == displayed(28, 28) + (3,)
    assert np.abs(all_a - a).max() <= 1 and np.abs(all_b - b).max() <= 1  # k = all: A itself, k = 0: B itself
    factor = a.shape[0] // 28
    assert np.abs(a[::factor, ::factor, 0] - pixels(DIGIT[3])).max() <= 1
    assert np.abs(b[::factor, ::factor, 0] - pixels(DIGIT[7])).max() <= 1
    assert np.abs(middle - a).max() > 50 and np.abs(middle - b).max() > 50  # a mixture, neither image
    assert "scale 0 (finest): 2×14×14; scale 1 (coarsest): 2×14×14" in note


def test_mix_scales_own_resolution_colour_and_class(client, tmp_path):
    items, _ = mix(client, photo(tmp_path, 64, 48), DIGIT[5], model="mnist", resolution="own")
    assert items[0]["caption"] == "A (64×48)"
    assert all(read(item["image"]).shape == displayed(48, 64) + (3,) for item in items)  # B brought to A's size
    odd = photo(tmp_path, 91, 61)
    items, _ = mix(client, odd, DIGIT[5], model=RGB_REPO, resolution="own")
    assert items[0]["caption"] == "A (90×60)" and len(items) == 5  # cropped to the size multiple, 2
    colour = read(items[2]["image"]).reshape(-1, 3).astype(int)
    assert np.abs(colour[:, 0] - colour[:, 1]).max() > 0
    _, note = mix(client, DIGIT[2], DIGIT[6], model="mnist-cond")
    assert "Both decoded as class" in note
    with pytest.raises(Exception, match="Image B is empty"):
        client.predict("mnist", handle_file(str(DIGIT[1])), None, "auto", "auto", "model", api_name="/mix_scales")


# ----------------------------------------------------------------------------- walk animations
def animate(client, walk="circle", frames=12, fps=12, fmt="gif", model="mnist", corners=(0, 1, 2, 7)):
    files = [handle_file(str(DIGIT[d])) for d in corners] + [None] * (4 - len(corners))
    return client.predict(model, *files, "auto", "auto", walk, frames, fps, fmt, api_name="/animate")


def read_animation(path):
    with Image.open(path) as image:
        frames, durations = [], []
        for i in range(image.n_frames):
            image.seek(i)
            image.load()  # WebP sets the frame's duration when it decodes it
            durations.append(image.info["duration"])
            frames.append(np.asarray(image.convert("L")).astype(int))
        return image.format, frames, durations


def test_animate_great_circle_gif(client):
    preview, file, note = animate(client, "circle", frames=12, fps=12, fmt="gif")
    assert Path(preview).read_bytes() == Path(file).read_bytes()
    fmt, frames, durations = read_animation(file)
    assert fmt == "GIF" and len(frames) == 12  # the requested frame count
    assert durations == [80] * 12  # 1000/12 ms, in GIF's 10 ms unit
    assert frames[0].shape == (280, 280)  # 28x28 enlarged 10 times
    assert all(np.abs(f - g).max() > 10 for f, g in zip(frames, frames[1:] + frames[:1]))  # it moves, every frame
    low, high, radius = map(float, re.search(r"between ([0-9.]+) and ([0-9.]+) \(the prior's typical radius "
                                             r"√D = ([0-9.]+)\)", note).groups())
    assert radius == pytest.approx(28.0) and 0.85 * radius < low <= high < 1.15 * radius  # on the typical shell
    assert "12 frames at 12.5 frames per second" in note


def test_animate_pair_webp_and_limits(client):
    _, file, note = animate(client, "pair", frames=8, fps=10, fmt="webp", corners=(1, 8))
    fmt, frames, durations = read_animation(file)
    assert fmt == "WEBP" and len(frames) == 8 and durations == [100] * 8
    small = [f[::10, ::10] for f in frames]
    # corner 1 -> corner 2 -> corner 1: frame 0 is the first image, frame 4 the second (up to dequantization)
    assert np.abs(small[0] - pixels(DIGIT[1])).max() <= 2 and np.abs(small[4] - pixels(DIGIT[8])).max() <= 2
    assert np.abs(small[1] - small[7]).max() <= 2  # there and back along the same arc
    assert "corner 1 → corner 2 → corner 1" in note
    with pytest.raises(Exception, match="(greater than maximum|must lie between)"):
        animate(client, frames=500)
    with pytest.raises(Exception, match="Corner 3 is empty"):
        client.predict("mnist", handle_file(str(DIGIT[1])), handle_file(str(DIGIT[2])), None, None, "auto", "auto",
                       "circle", 8, 12, "gif", api_name="/animate")


# ----------------------------------------------------------------------------- Classify
def test_classify(client):
    chart, label, note = client.predict("mnist-cond", handle_file(str(DIGIT[3])), "auto", api_name="/classify")
    assert read(chart).shape == (300, 800, 3)
    assert label["label"] == "3"
    confidences = {c["label"]: c["confidence"] for c in label["confidences"]}
    assert max(confidences, key=confidences.get) == "3" and confidences["3"] > 0.5
    assert re.search(r"\*\*Class 3\*\*, p = [0-9.]+", note)
    ref = json.loads((EXAMPLES.parent / "models" / "mnist-cond" / "reference.json").read_text())["classifier"]
    assert f"this classifier is {ref['accuracy'] * 100:.1f}% accurate" in note
    info = client.predict("mnist-cond", api_name="/model_info")
    assert info["classifier"]["num_images"] == 1000
    assert f"accuracy {ref['accuracy'] * 100:.1f}%" in info["description"]
    with pytest.raises(Exception, match="needs a class-conditional model"):
        client.predict("mnist", handle_file(str(DIGIT[3])), "auto", api_name="/classify")


# ----------------------------------------------------------------------------- Out-of-distribution
def test_ood_lab(client, tmp_path):
    data = json.loads((EXAMPLES.parent / "models" / "mnist" / "ood.json").read_text())
    fashion = next(entry for entry in data["out"] if entry["dataset"] == "fashion-mnist")
    chart, table, note = client.predict("mnist", handle_file(str(DIGIT[3])), "auto", "fashion-mnist", "png",
                                        api_name="/ood")
    assert read(chart).shape == (340, 1000, 3)
    rows = {(r[0], r[1]): r[2] for r in table["data"]}
    assert rows[("fashion-mnist", "bits/dim (likelihood)")] == pytest.approx(fashion["auroc"]["bpd"])
    assert rows[("fashion-mnist", "bits/dim − PNG bits/dim")] == pytest.approx(fashion["auroc"]["png"])
    value = float(re.search(r"This image's bits/dim ([0-9.]+)", note).group(1))
    _, bpd, *_ = likelihood(client, DIGIT[3])
    assert value == pytest.approx(bpd, abs=1e-3)  # the same dequantized image as the likelihood tab
    share = float(re.search(r"([0-9.]+)% of the `mnist5k` test images score as high", note).group(1))
    assert share == pytest.approx((np.asarray(data["in"]["bpd"]) >= value).mean() * 100, abs=0.1)
    # a photograph is far less likely than any test digit under the digit model
    _, _, note = client.predict("mnist", handle_file(str(photo(tmp_path))), "auto", "auto", "webp", api_name="/ood")
    assert "0.0% of the `mnist5k` test images score as high" in note and "WebP" in note
    chart, _, note = client.predict("mnist", None, "auto", "photos-v1", "png", api_name="/ood")
    assert chart is not None
    assert_not_blank(read(chart))
    assert "This image" not in note
    chart, table, note = client.predict(RGB_REPO, None, "auto", "auto", "png", api_name="/ood")
    assert chart is None and "No precomputed out-of-distribution figures" in note
    with pytest.raises(Exception, match="no precomputed figures for 'cifar10'"):
        client.predict("mnist", None, "auto", "cifar10", "png", api_name="/ood")


# ----------------------------------------------------------------------------- Completions
def completions(client, image=DIGIT[9], model="mnist", region="rectangle", brush=None, method="sample", count=2,
                steps=10, langevin=2, seed=0, top=0.5):  # few steps: 10 is the API's least
    return client.predict(model, handle_file(str(image)), "auto", "auto", region, top, 1.0, 0.0, 1.0, brush, method,
                          count, steps, langevin, 1.0, 0.05, seed, api_name="/completions")


def test_completions_sampled_keep_known_pixels_and_differ(client):
    items, note = completions(client, count=3)
    assert len(items) == 4 and items[0]["caption"].startswith("erased (392 px)")
    known = pixels(DIGIT[9])[:14]
    outs = []
    for item in items[1:]:
        image = read(item["image"])
        factor = image.shape[0] // 28
        small = image[::factor, ::factor, 0].astype(int)
        assert np.array_equal(small[:14], known)  # known pixels never change
        bpd = float(re.search(r": ([0-9.]+) bits/dim", item["caption"]).group(1))
        assert math.isfinite(bpd) and 0 < bpd < 20
        outs.append(small)
    assert np.abs(outs[0] - outs[1]).max() > 10  # the completions differ
    assert "latent search" in note and "Metropolis-adjusted Langevin" in note
    again, _ = completions(client, count=3, seed=1)
    assert not np.array_equal(read(again[1]["image"]), read(items[1]["image"]))  # another seed, another draw


def brush_layer(tmp_path, size=280) -> Path:
    """An editor layer: the bottom-right quarter painted (opaque red), the rest transparent."""
    layer = np.zeros((size, size, 4), np.uint8)
    layer[size // 2:, size // 2:] = (230, 60, 60, 255)
    path = tmp_path / "layer.png"
    Image.fromarray(layer, "RGBA").save(path)
    return path


def test_completions_with_the_brush_and_by_maximizing(client, tmp_path):
    background = tmp_path / "background.png"
    Image.open(DIGIT[4]).resize((280, 280), Image.NEAREST).save(background)
    brush = {"background": handle_file(str(background)), "layers": [handle_file(str(brush_layer(tmp_path)))],
             "composite": None}
    items, note = completions(client, DIGIT[4], region="brush", brush=brush, method="maximize", count=2, steps=10)
    assert items[0]["caption"].startswith("erased (196 px)")  # a 14x14 quarter of the 28x28 model input
    image = read(items[1]["image"])
    factor = image.shape[0] // 28
    small = image[::factor, ::factor, 0].astype(int)
    original = pixels(DIGIT[4]).astype(int)
    assert np.array_equal(small[:14], original[:14]) and np.array_equal(small[:, :14], original[:, :14])
    assert "maximizing log p(x) over the erased pixels (10 Adam steps" in note
    empty = {"background": handle_file(str(background)), "layers": [], "composite": None}
    with pytest.raises(Exception, match="Nothing is painted"):
        completions(client, DIGIT[4], region="brush", brush=empty)
    items, _ = completions(client, photo(tmp_path), model=RGB_REPO, count=1, steps=10, langevin=2)
    assert read(items[1]["image"]).shape == displayed(16, 16) + (3,)
    still_answers(client)

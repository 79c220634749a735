"""What the tests share besides fixtures: small random models, the bijection check (exact inverse,
and log-det against the autograd Jacobian), the fake photographs' crop size, and the data sets'
checks and fake files (IDX files as MNIST and Fashion-MNIST ship them)."""
from pathlib import Path

import torch

from realnvp.checks import jacobian_logabsdet, randomize_  # noqa: F401  (for the tests)
from realnvp.checks import random_model as tiny_model  # noqa: F401  (for the tests)

ROOT = Path(__file__).resolve().parent.parent  # the checkout
FAKE_CROP = 8  # the fake photographs' crop size (conftest.fake_photos): shorter sides 16, 32 and 64 px


def load_bench(name: str):
    """The benchmark script bench/NAME.py as a module (bench/ is not a package)."""
    import importlib.util
    import sys

    if str(ROOT / "bench") not in sys.path:  # its sibling modules (e.g. bench/results.py)
        sys.path.append(str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_bijection(layer, x, y=None, atol=1e-9):
    """encode/decode invert each other; each direction's log-det matches autograd; per sample."""
    z, ld = layer.encode(x, y)
    assert ld.shape == z.shape
    x_back, ld_back = layer.decode(z, y)
    assert torch.allclose(x_back, x, atol=atol, rtol=0), (x_back - x).abs().max()
    assert torch.allclose(ld.flatten(1).sum(1), -ld_back.flatten(1).sum(1), atol=atol)
    for b in range(x.shape[0]):
        yb = None if y is None else y[b : b + 1]
        expected = jacobian_logabsdet(lambda v: layer.encode(v[None], yb)[0][0], x[b])
        assert torch.allclose(ld[b].sum(), expected, rtol=1e-7, atol=1e-9), (ld[b].sum(), expected)
        expected_inv = jacobian_logabsdet(lambda v: layer.decode(v[None], yb)[0][0], z[b])
        assert torch.allclose(ld_back[b].sum(), expected_inv, rtol=1e-7, atol=1e-9)
    return z, ld


def grey_images(n: int, seed: int = 0) -> torch.Tensor:
    """n float64 one-channel 8x8 images in (0.05, 0.95), from `seed`."""
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 0.9 + 0.05


def noise(shape, seed: int = 0):
    """uint8 noise of `shape` (numpy), from `seed`: an image no codec can shrink."""
    import numpy as np

    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def run_in_threads(target, count: int = 4) -> None:
    """Run `target` on `count` threads at once and wait for them all."""
    import threading

    threads = [threading.Thread(target=target) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# ----------------------------------------------------------------------------- data sets
def assert_quantized(x: torch.Tensor, num_levels: int) -> None:
    """x is float32 in [0, 1] with values exactly k / (L - 1) for integers k."""
    assert x.dtype == torch.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    levels = torch.round(x * (num_levels - 1))
    assert torch.equal(x, levels / (num_levels - 1))


def assert_item(dataset, index, shape, num_levels, num_classes=None):
    """dataset[index] is a quantized image of `shape` and a 0-dim int64 label (0 when unlabelled)."""
    x, y = dataset[index]
    assert x.shape == shape
    assert_quantized(x, num_levels)
    assert y.dtype == torch.int64 and y.ndim == 0
    if num_classes is None:
        assert y.item() == 0
    else:
        assert 0 <= y.item() < num_classes
    return x, y


def expected_crop(dataset, index):
    """The crop `index` of a photos data set, cut from its region's pixels by hand."""
    region, top, left, flip, _ = dataset.crop_params(index)  # grey crops: test_photos_grey_fraction_train_only
    size = dataset.crop_size
    crop = dataset.regions[region].pixels[:, top : top + size, left : left + size].float() / 255
    return crop.flip(-1) if flip else crop


def write_idx(path, array) -> None:
    """An idx-ubyte file: magic (0, 0, 0x08 = uint8, ndim), big-endian sizes, raw bytes."""
    import struct

    import numpy as np

    header = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def write_fake_mnist(root, folder, num_train=30, num_test=10, compress=False):
    """Fake MNIST-like IDX files in ``root/folder/raw`` (``folder=None``: in ``root`` itself);
    returns the arrays written, ``{prefix: (images, labels)}``."""
    import gzip

    import numpy as np

    raw = root if folder is None else root / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    written = {}
    for prefix, n in (("train", num_train), ("t10k", num_test)):
        images, labels = rng.integers(0, 256, (n, 28, 28)).astype(np.uint8), rng.integers(0, 10, n).astype(np.uint8)
        for stem, array in ((f"{prefix}-images-idx3-ubyte", images), (f"{prefix}-labels-idx1-ubyte", labels)):
            write_idx(raw / stem, array)
            if compress:  # as Debian's dataset-fashion-mnist ships them
                (raw / f"{stem}.gz").write_bytes(gzip.compress((raw / stem).read_bytes()))
                (raw / stem).unlink()
        written[prefix] = (images, labels)
    return written

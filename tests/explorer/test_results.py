"""explorer.results: each result is a new file, complete once its path is returned, never rewritten,
inside Gradio's cache folder (so Gradio serves it as is and delete_cache ages it out)."""
import threading
from pathlib import Path

import numpy as np
import pytest
from gradio.utils import get_upload_folder
from PIL import Image

from explorer import results
from helpers import run_in_threads


def picture(seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (20, 30, 3), dtype=np.uint8)


def test_identical_results_get_files_of_their_own(tmp_path):
    image = picture()
    first, second = (results.save_png(image, "heatmap", tmp_path) for _ in range(2))
    assert first != second and Path(first).name.startswith("heatmap-") and first.endswith(".png")
    before = Path(first).stat()
    for path in (first, second):
        with Image.open(path) as png:
            assert png.format == "PNG" and png.mode == "RGB"
            assert np.array_equal(np.asarray(png), image)
    after = Path(first).stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # the first was not rewritten
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(Path(p).name for p in (first, second))  # no leftovers


def test_arrays(tmp_path):
    bits = np.random.default_rng(1).random((7, 5)).astype(np.float32)
    path = results.save_array(bits, "bits", tmp_path)
    assert Path(path).name.startswith("bits-") and path.endswith(".npy")
    loaded = np.load(path)
    assert loaded.dtype == np.float32 and np.array_equal(loaded, bits)


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    def fail(file):
        file.write(b"half a file")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        results.write_once("broken", ".bin", fail, tmp_path)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match=r"expected an \(H, W, 3\) uint8 picture"):
        results.save_png(np.zeros((4, 4), np.float32), "grey", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_concurrent_identical_results(tmp_path):
    image, paths, lock = picture(2), [], threading.Lock()

    def save():
        for _ in range(10):
            path = results.save_png(image, "same", tmp_path)
            with lock:
                paths.append(path)

    run_in_threads(save)
    assert len(set(paths)) == 40
    assert len({Path(p).read_bytes() for p in paths}) == 1


def test_default_directory_is_inside_gradios_cache_folder():
    directory = results.output_dir()
    assert directory.is_dir() and directory.is_relative_to(Path(get_upload_folder()).resolve())
    assert results.output_dir() == directory  # one per process
    assert Path(results.save_png(picture(), "x")).parent == directory

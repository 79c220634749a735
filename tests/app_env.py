"""Build app.py's page for the app tests, with two extra Hub models that never touch the network
(HF_HUB_OFFLINE=1 is set by conftest.py):

- `test/tiny-rgb`: a tiny randomly initialised 3-channel 16x16 RealNVP in a hand-built
  Hugging Face cache, so the colour path and Hub loading by repo id are exercised;
- `test/not-cached`: a repo id that is not in the cache, so the page falls back to the
  bundled model with a message.

Also starts the app on a free port (`launch`), as a Space would run it, plus host and port.
"""
from __future__ import annotations

import functools
import importlib
import os
import sys
import tempfile
import types
from pathlib import Path

import torch

from explorer.runtime import free_port

ROOT = Path(__file__).resolve().parent.parent
RGB_REPO = "test/tiny-rgb"
MISSING_REPO = "test/not-cached"
SNAPSHOT = "fedcba9876543210fedcba9876543210fedcba98"


def build_hf_cache(cache: Path) -> None:
    from realnvp import RealNVP

    repo = cache / ("models--" + RGB_REPO.replace("/", "--"))
    snapshot = repo / "snapshots" / SNAPSHOT
    if (snapshot / "model.safetensors").is_file():
        return
    torch.manual_seed(0)
    model = RealNVP(in_channels=3, image_size=16, num_scales=2, hidden_channels=8, num_blocks=1)
    with torch.no_grad():  # the heads start at zero (identity couplings): give them some weight
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    model.save_pretrained(snapshot)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(SNAPSHOT)


@functools.cache
def import_app() -> types.SimpleNamespace:
    """app.py's page, built once per test session with the test Hub models configured, and what
    app.py launches it with: `demo`, `QUEUE`, `launch_options`, and `__file__` (app.py's path)."""
    from huggingface_hub import constants

    assert constants.HF_HUB_OFFLINE, "conftest.py must set HF_HUB_OFFLINE=1 before huggingface_hub is imported"
    cache = Path(tempfile.mkdtemp(prefix="realnvp-hf-cache-"))
    build_hf_cache(cache)
    constants.HF_HUB_CACHE = str(cache)  # read by snapshot_download at call time
    previous = os.environ.get("REALNVP_HUB_MODELS")
    os.environ["REALNVP_HUB_MODELS"] = f"{RGB_REPO},{MISSING_REPO}"
    sys.path.insert(0, str(ROOT))
    try:
        app = importlib.import_module("app")
        return types.SimpleNamespace(demo=app.build_demo(), QUEUE=app.QUEUE, launch_options=app.launch_options,
                                     __file__=app.__file__)
    finally:
        if previous is None:
            os.environ.pop("REALNVP_HUB_MODELS", None)
        else:
            os.environ["REALNVP_HUB_MODELS"] = previous


def launch(app):
    """Start the app in this process (queue and launch options as in `python app.py`); returns the URL."""
    _, url, _ = app.demo.queue(**app.QUEUE).launch(**app.launch_options(), prevent_thread_lock=True,
                                                   server_name="127.0.0.1", server_port=free_port(), quiet=True)
    return url

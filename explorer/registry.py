"""The app's model registry: bundled models and Hugging Face Hub repos, loaded on demand.

- Bundled models are the directories `assets/models/NAME/` that hold a `config.json`
  (next to it: `model.safetensors`, the `README.md` model card and, from `train.export`,
  `reference.json` with the test set's per-image bits/dim). Their held-out example images
  live in `assets/examples/NAME/`.
- Hub models are repo ids listed in the environment variable `REALNVP_HUB_MODELS`
  (comma-separated) and/or in `models.json` at the repository root (a JSON list of repo ids).

Listing never touches the network. A Hub model is fetched only when it is picked: from the
local Hugging Face cache first, then (unless `HF_HUB_OFFLINE=1`) from the Hub in a worker
thread with a time limit. When that fails, `load` returns the bundled default model with a
message saying why, so the app keeps working without the Hub.

Memory: only configured models can be loaded (an unknown name gets the default with a message), and
at most `MAX_LOADED` of them are kept (the default always; the least recently used other one leaves
first, to be loaded again when it is picked again).
"""
from __future__ import annotations

import collections
import concurrent.futures
import functools
import json
import logging
import os
import re
import sysconfig
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from realnvp import CheckpointError, RealNVP
from realnvp.precision import fast_sampling_dtype

log = logging.getLogger(__name__)

# A checkout keeps assets/ and models.json beside the packages; `pip install .` puts them under
# <prefix>/share/realnvp-explorer (see pyproject.toml's data-files).
_CHECKOUT = Path(__file__).resolve().parent.parent
ROOT = _CHECKOUT if (_CHECKOUT / "assets" / "models").is_dir() else \
    Path(sysconfig.get_path("data")) / "share" / "realnvp-explorer"
MODELS_DIR = ROOT / "assets" / "models"
EXAMPLES_DIR = ROOT / "assets" / "examples"
MODELS_FILE = ROOT / "models.json"
HUB_ENV = "REALNVP_HUB_MODELS"
DEFAULT_ENV = "REALNVP_DEFAULT_MODEL"
PREFERRED_DEFAULT = "mnist"
HUB_FILES = ["config.json", "model.safetensors", "README.md", "reference.json", "ood.json", "examples/*"]
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif")
MAX_LOADED = 8  # models kept in memory at once (the default included)
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True)
class ModelEntry:
    """One model the app can show: `source` is "bundled" (a local directory) or "hub" (a repo id)."""

    name: str
    source: str
    location: str


@dataclass
class LoadedModel:
    """A model ready to use, and where it came from. `message` is non-empty when the requested
    model could not be loaded and `name` is the bundled fallback instead."""

    name: str
    model: RealNVP
    directory: Path
    reference: dict | None = None
    examples: list[Path] = field(default_factory=list)
    message: str = ""
    requested: str = ""

    @property
    def fell_back(self) -> bool:
        return bool(self.message)


def hub_ids_from_config(env: str | None = None, models_file: Path | None = MODELS_FILE) -> tuple[list[str], list[str]]:
    """Repo ids from `REALNVP_HUB_MODELS` (comma-separated) and `models.json` (a JSON list),
    without duplicates; and warnings about entries that are not valid repo ids."""
    env = os.environ.get(HUB_ENV, "") if env is None else env
    candidates = [part.strip() for part in env.split(",") if part.strip()]
    warnings = []
    if models_file is not None and Path(models_file).is_file():
        try:
            listed = json.loads(Path(models_file).read_text(encoding="utf-8") or "[]")
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            listed = []
            warnings.append(f"{Path(models_file).name} is not valid JSON ({error}); ignoring it")
        if not isinstance(listed, list):
            warnings.append(f"{Path(models_file).name} must hold a JSON list of repo ids; ignoring it")
            listed = []
        candidates += [item.strip() for item in listed if isinstance(item, str) and item.strip()]
    ids = []
    for repo_id in candidates:
        if not _REPO_ID.match(repo_id) or "--" in repo_id or ".." in repo_id or len(repo_id) > 96:
            warnings.append(f"ignoring {repo_id!r}: not a Hugging Face repo id (owner/name)")
        elif repo_id not in ids:
            ids.append(repo_id)
    return ids, warnings


def find_examples(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def read_reference(directory: Path) -> dict | None:
    """reference.json (test-set bits/dim written by train.export), or None if absent/unreadable."""
    path = directory / "reference.json"
    if not path.is_file():
        return None
    try:
        reference = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as error:
        log.warning("%s: unreadable (%s); ignoring it", path, error)
        return None
    if not isinstance(reference, dict) or not isinstance(reference.get("test_bpd", []), list):
        log.warning("%s: unexpected layout; ignoring it", path)
        return None
    return reference


def distinct_examples(examples: list[Path], count: int) -> list[str | None]:
    """`count` example paths, preferring different classes: files are named CLASS_INDEX.png (e.g.
    digit3_0.png), and one of each class comes first. Padded with None when there are too few."""
    paths, seen = [], set()
    for path in examples:
        key = path.stem.rsplit("_", 1)[0]
        if key not in seen:
            seen.add(key)
            paths.append(str(path))
    paths += [str(p) for p in examples if str(p) not in paths]
    paths += [None] * count
    return paths[:count]


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class ModelRegistry:
    """Bundled and Hub models by name, each loaded once and kept in memory, `max_loaded` at most."""

    def __init__(self, models_dir: Path | str = MODELS_DIR, examples_dir: Path | str = EXAMPLES_DIR,
                 hub_ids: list[str] | None = None, default: str | None = None, device: torch.device | str | None = None,
                 cache_dir: str | None = None, timeout: float = 20.0, retry_after: float = 60.0, downloader=None,
                 max_loaded: int = MAX_LOADED):
        self.models_dir = Path(models_dir)
        self.examples_dir = Path(examples_dir)
        self.warnings: list[str] = []
        if hub_ids is None:
            hub_ids, self.warnings = hub_ids_from_config()
        self.device = torch.device(device) if device is not None else default_device()
        self.cache_dir = cache_dir
        self.timeout = timeout
        self.retry_after = retry_after
        self._failures: dict[str, tuple[float, str]] = {}
        self._download = downloader or self._snapshot_download
        self._entries: dict[str, ModelEntry] = {}
        if self.models_dir.is_dir():
            for directory in sorted(self.models_dir.iterdir()):
                if (directory / "config.json").is_file():
                    self._entries[directory.name] = ModelEntry(directory.name, "bundled", str(directory))
        for repo_id in hub_ids:
            if repo_id not in self._entries:
                self._entries[repo_id] = ModelEntry(repo_id, "hub", repo_id)
        bundled = [n for n, e in self._entries.items() if e.source == "bundled"]
        if default is None:
            default = os.environ.get(DEFAULT_ENV) or (PREFERRED_DEFAULT if PREFERRED_DEFAULT in bundled else None)
        if default is not None and default not in bundled:
            instead = bundled[0] if bundled else "none"
            self.warnings.append(f"default model {default!r} is not a bundled model; using {instead}")
            default = None
        if default is None and bundled:
            default = bundled[0]
        if default is None:
            raise CheckpointError(f"no bundled model found in {self.models_dir} (expected NAME/config.json and "
                                  f"NAME/model.safetensors); run `python -m train.export` first")
        self.default_name = default
        self.max_loaded = max(1, max_loaded)
        self._loaded: collections.OrderedDict[str, LoadedModel] = collections.OrderedDict()  # least recent first
        self._lock = threading.Lock()
        self._pending: dict[str, concurrent.futures.Future] = {}
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="hub-download")

    # ------------------------------------------------------------------ listing
    def names(self) -> list[str]:
        """Every model name, bundled ones first (the default leading), then Hub repo ids."""
        names = list(self._entries)
        return sorted(names, key=lambda n: (self._entries[n].source != "bundled", n != self.default_name))

    def entry(self, name: str) -> ModelEntry:
        if name not in self._entries:
            raise KeyError(f"unknown model {name!r}; choose one of {', '.join(self.names())}")
        return self._entries[name]

    # ------------------------------------------------------------------ loading
    def load(self, name: str | None = None) -> LoadedModel:
        """The model called `name` (default: the bundled default), loaded once and cached.
        Never raises for a Hub model or a broken non-default bundled model: returns the default
        with `message` saying what went wrong. Raises CheckpointError if the default is broken."""
        name = name or self.default_name
        with self._lock:
            if name in self._loaded:
                self._loaded.move_to_end(name)
                return self._loaded[name]
            failed = self._failures.get(name)
            pending = self._pending.get(name)
        if name not in self._entries:
            return self._fallback(name, f"unknown model {name!r}; choose one of {', '.join(self.names())}")
        if failed and time.monotonic() - failed[0] < self.retry_after and not (pending and pending.done()):
            return self._fallback(name, failed[1])  # do not wait for the Hub again on every call
        entry = self._entries[name]
        try:
            if entry.source == "bundled":
                directory = Path(entry.location)
                loaded = self._load_directory(name, directory, find_examples(self.examples_dir / name))
            else:
                directory = self._fetch(entry.location)
                loaded = self._load_directory(name, directory, find_examples(directory / "examples"))
        except Exception as error:  # noqa: BLE001 - any failure becomes a message, the app goes on
            if name == self.default_name:
                raise
            where = "the Hub" if entry.source == "hub" else entry.location
            log.warning("could not load %s: %s", name, error)
            if _is_network_error(error):
                message = f"could not reach the Hub for {name}: {_short(error)}"
            else:
                message = f"could not load {name} from {where}: {_short(error)}"
            with self._lock:
                self._failures[name] = (time.monotonic(), message)
            return self._fallback(name, message)
        with self._lock:
            self._failures.pop(name, None)
            loaded = self._loaded.setdefault(name, loaded)
            self._loaded.move_to_end(name)
            while len(self._loaded) > self.max_loaded:  # requests under way keep their own reference
                oldest = next(n for n in self._loaded if n != self.default_name)
                del self._loaded[oldest]
            return loaded

    def _fallback(self, requested: str, message: str) -> LoadedModel:
        default = self.load(self.default_name)
        text = f"{message}; showing the bundled model {default.name!r} instead."
        return LoadedModel(default.name, default.model, default.directory, default.reference, default.examples,
                           message=text, requested=requested)

    def _load_directory(self, name: str, directory: Path, examples: list[Path]) -> LoadedModel:
        model = RealNVP.from_pretrained(directory)
        model.requires_grad_(False)  # inference only; completion takes gradients w.r.t. pixels
        model = model.to(self.device).eval()
        model.sampling_dtype = fast_sampling_dtype(self.device)  # bf16 sample grids where bf16 is native
        return LoadedModel(name, model, directory, read_reference(directory), examples, requested=name)

    def _fetch(self, repo_id: str) -> Path:
        """The local snapshot directory of `repo_id`: from the cache, else downloaded with a time limit."""
        from huggingface_hub import constants
        from huggingface_hub.errors import LocalEntryNotFoundError

        with self._lock:
            finished = self._pending.get(repo_id)
        if finished is not None and finished.done() and finished.exception() is None:
            return Path(finished.result())  # a background download that completed after a timeout
        try:
            return Path(self._download(repo_id, local_files_only=True))
        except LocalEntryNotFoundError:
            if constants.HF_HUB_OFFLINE:
                raise HubUnavailable(f"{repo_id} is not in the local cache and HF_HUB_OFFLINE is set") from None
        with self._lock:
            future = self._pending.get(repo_id)
            if future is None or future.done():
                future = self._pool.submit(self._download, repo_id, local_files_only=False)
                self._pending[repo_id] = future
        try:
            return Path(future.result(timeout=self.timeout))
        except concurrent.futures.TimeoutError:
            raise HubUnavailable(f"no answer within {self.timeout:g} s (the download goes on in the background; "
                                 f"pick the model again later)") from None

    def _snapshot_download(self, repo_id: str, local_files_only: bool) -> str:
        from huggingface_hub import snapshot_download

        return snapshot_download(repo_id, cache_dir=self.cache_dir, allow_patterns=HUB_FILES,
                                 local_files_only=local_files_only, etag_timeout=min(10.0, self.timeout))

    # ------------------------------------------------------------------ descriptions
    def describe(self, loaded: LoadedModel) -> str:
        """Markdown: what the model is, what it was trained on, its test bits/dim."""
        model = loaded.model
        kind = f"class-conditional ({model.num_classes} classes)" if model.num_classes else "unconditional"
        colour = {1: "greyscale", 3: "RGB"}.get(model.in_channels, f"{model.in_channels}-channel")
        params = sum(p.numel() for p in model.parameters())
        source = self._entries.get(loaded.name)
        bundled = source is None or source.source == "bundled"
        where = "bundled" if bundled else f"[{loaded.name}](https://huggingface.co/{loaded.name})"
        size = f"{model.image_size}×{model.image_size}"
        text = (f"**{loaded.name}** ({where}): {kind} Real NVP on {colour} {size} images, "
                f"{model.num_scales} scales, {params / 1e6:.2f} M parameters")
        ref = loaded.reference
        if ref and ref.get("test_bpd"):
            mean = ref.get("mean_test_bpd", sum(ref["test_bpd"]) / len(ref["test_bpd"]))
            text += (f". Trained on `{ref.get('dataset', '?')}`; **test bits/dim {mean:.3f}** "
                     f"({len(ref['test_bpd']):,} held-out images).")
        else:
            text += ". No reference test-set evaluation (reference.json) is available for it."
        if loaded.message:
            text = f"⚠️ {loaded.message}\n\n{text}"
        return text


class HubUnavailable(RuntimeError):
    """The Hub could not be reached (offline mode, timeout, connection error)."""


def _is_network_error(error: BaseException) -> bool:
    if isinstance(error, (HubUnavailable, ConnectionError, TimeoutError)):
        return True
    try:
        from huggingface_hub.errors import (GatedRepoError, HfHubHTTPError, LocalEntryNotFoundError,
                                            RepositoryNotFoundError, RevisionNotFoundError)

        if isinstance(error, (RepositoryNotFoundError, GatedRepoError, RevisionNotFoundError)):
            return False  # the Hub answered: the repo is missing or private
        return isinstance(error, (LocalEntryNotFoundError, HfHubHTTPError))
    except ImportError:  # pragma: no cover
        return False


def _short(error: BaseException, limit: int = 300) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


@functools.cache
def app_registry() -> ModelRegistry:
    """The app's one registry, built on first use from the environment (`REALNVP_HUB_MODELS`,
    `models.json`, `REALNVP_DEFAULT_MODEL`); the handlers and the page share it."""
    return ModelRegistry()

"""The app's model registry: bundled models and Hugging Face Hub repos, loaded on demand.

- Bundled models are the directories `assets/models/NAME/` that hold a `config.json`
  (next to it: `model.safetensors`, the `README.md` model card and, from `train.export`,
  `reference.json` with the test set's per-image bits/dim). Their held-out example images
  live in `assets/examples/NAME/`.
- Hub models are repo ids listed in the environment variable `REALNVP_HUB_MODELS`
  (comma-separated) and/or in `models.json` at the repository root (a JSON list of repo ids).
  An entry of models.json may instead be `{"repo_id": "OWNER/NAME", "bundled_copy": "DIR"}`: the
  bundled model `DIR` is a copy of that Hub model, used only when the Hub model cannot be loaded
  (the menu lists the repo id alone). A Space built by train.publish_space lists its models so.

Listing never touches the network. A Hub model is fetched only when it is picked: from the
local Hugging Face cache first, then (unless `HF_HUB_OFFLINE=1`) from the Hub in a worker
thread with a time limit. When that fails, `load` returns the model's bundled copy if it has one,
else the default model, with a message saying why, so the app keeps working without the Hub. The
default model is a bundled one or a Hub model with a bundled copy, so that the page can always be built.

Memory: only configured models can be loaded (an unknown name gets the default with a message), and
at most `MAX_LOADED` of them are kept (the default always; the least recently used other one leaves
first, to be loaded again when it is picked again).
"""
from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import functools
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from realnvp import CheckpointError, RealNVP
from realnvp.precision import fast_sampling_dtype

from .model_files import (DEFAULT_ENV, EXAMPLES_DIR, HUB_FILES, MODELS_DIR, PREFERRED_DEFAULT, bundled_copies_from_config,
                          find_examples, hub_ids_from_config, read_reference, read_vs_codecs)

log = logging.getLogger(__name__)

MAX_LOADED = 8  # models kept in memory at once (the default included)


@dataclass(frozen=True)
class ModelEntry:
    """One model the app can show: `source` is "bundled" (a local directory) or "hub" (a repo id);
    a Hub model may have a bundled copy (a local directory) to use when the Hub model cannot be loaded."""

    name: str
    source: str
    location: str
    bundled_copy: str = ""


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
    source: str = "bundled"  # where its files came from: "bundled" (the app's assets) or "hub" (a Hub snapshot)
    vs_codecs: dict | None = None  # its record against lossless codecs by kind (vs_codecs.json), read once at load

    @property
    def fell_back(self) -> bool:
        return bool(self.message)


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class ModelRegistry:
    """Bundled and Hub models by name, each loaded once and kept in memory, `max_loaded` at most."""

    def __init__(self, models_dir: Path | str = MODELS_DIR, examples_dir: Path | str = EXAMPLES_DIR,
                 hub_ids: list[str] | None = None, default: str | None = None, device: torch.device | str | None = None,
                 cache_dir: str | None = None, timeout: float = 20.0, retry_after: float = 60.0, downloader=None,
                 max_loaded: int = MAX_LOADED, bundled_copies: dict[str, str] | None = None):
        self.models_dir = Path(models_dir)
        self.examples_dir = Path(examples_dir)
        self.warnings: list[str] = []
        if hub_ids is None:
            hub_ids, self.warnings = hub_ids_from_config()
            bundled_copies = bundled_copies_from_config() if bundled_copies is None else bundled_copies
        bundled_copies = bundled_copies or {}
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
        copied = {}  # bundled name -> the Hub model it is a copy of (the menu lists the Hub model only)
        for repo_id in hub_ids:
            if repo_id in self._entries:
                continue
            copy = self._entries.get(bundled_copies.get(repo_id, ""))
            if repo_id in bundled_copies and (copy is None or copy.source != "bundled"):
                self.warnings.append(f"{repo_id}: its bundled copy {bundled_copies[repo_id]!r} is not a bundled model")
                copy = None
            if copy is not None:
                del self._entries[copy.name]
                copied[copy.name] = repo_id
            self._entries[repo_id] = ModelEntry(repo_id, "hub", repo_id, copy.location if copy else "")
        self._copy_examples = {repo_id: self.examples_dir / name for name, repo_id in copied.items()}
        local = [n for n, e in self._entries.items() if e.source == "bundled" or e.bundled_copy]  # files here
        if default is None:
            preferred = copied.get(PREFERRED_DEFAULT, PREFERRED_DEFAULT)
            default = os.environ.get(DEFAULT_ENV) or (preferred if preferred in local else None)
        default = copied.get(default, default)  # a bundled model that is a copy stands for its Hub model
        if default is not None and default not in local:
            instead = local[0] if local else "none"
            self.warnings.append(f"default model {default!r} is not a bundled model; using {instead}")
            default = None
        if default is None and local:
            default = local[0]
        if default is None:
            raise CheckpointError(f"no bundled model found in {self.models_dir} (expected NAME/config.json and "
                                  f"NAME/model.safetensors); run `python -m train.export` first")
        self.default_name = default
        self.max_loaded = max(1, max_loaded)
        self._loaded: collections.OrderedDict[str, LoadedModel] = collections.OrderedDict()  # least recent first
        self._lock = threading.Lock()
        self._pending: dict[str, concurrent.futures.Future] = {}
        self._copies: dict[str, LoadedModel] = {}  # bundled copies loaded in place of their Hub models
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="hub-download")

    # ------------------------------------------------------------------ listing
    def names(self) -> list[str]:
        """Every model name, the default first, then bundled ones, then Hub repo ids."""
        names = list(self._entries)
        return sorted(names, key=lambda n: (n != self.default_name, self._entries[n].source != "bundled"))

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
                loaded = self._load_directory(name, directory, find_examples(directory / "examples"), source="hub")
        except Exception as error:  # noqa: BLE001 - any failure becomes a message, the app goes on
            if name == self.default_name and not entry.bundled_copy:
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
        entry = self._entries.get(requested)
        if entry is not None and entry.bundled_copy:
            try:
                copy = self._load_copy(entry)
            except Exception as error:  # noqa: BLE001 - a broken copy: the default stands in, unless it is the default
                if requested == self.default_name:
                    raise
                log.warning("could not load the bundled copy of %s: %s", requested, error)
            else:
                return dataclasses.replace(copy, message=f"{message}; showing its bundled copy instead.")
        default = self.load(self.default_name)
        text = f"{message}; showing the bundled model {default.name!r} instead."
        return LoadedModel(default.name, default.model, default.directory, default.reference, default.examples,
                           message=text, requested=requested, source=default.source, vs_codecs=default.vs_codecs)

    def _load_copy(self, entry: ModelEntry) -> LoadedModel:
        """The bundled copy of a Hub model, loaded once (a broken copy raises CheckpointError)."""
        with self._lock:
            if entry.name in self._copies:
                return self._copies[entry.name]
        loaded = self._load_directory(entry.name, Path(entry.bundled_copy),
                                      find_examples(self._copy_examples[entry.name]))
        with self._lock:
            return self._copies.setdefault(entry.name, loaded)

    def _load_directory(self, name: str, directory: Path, examples: list[Path], source: str = "bundled") -> LoadedModel:
        model = RealNVP.from_pretrained(directory)
        model.requires_grad_(False)  # inference only; completion takes gradients w.r.t. pixels
        model = model.to(self.device).eval()
        model.sampling_dtype = fast_sampling_dtype(self.device)  # bf16 sample grids where bf16 is native
        return LoadedModel(name, model, directory, read_reference(directory), examples, requested=name, source=source,
                           vs_codecs=read_vs_codecs(directory))

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

    # ------------------------------------------------------------------ availability
    def unavailable(self) -> list[str]:
        """One line for each Hub model that cannot be loaded now: not in the local cache while
        HF_HUB_OFFLINE is set (online, a model that is not cached is downloaded when picked).
        Looks only at the local cache."""
        from huggingface_hub import constants

        if not constants.HF_HUB_OFFLINE:
            return []
        lines = []
        for entry in self._entries.values():
            if entry.source != "hub":
                continue
            try:
                self._download(entry.location, local_files_only=True)
            except Exception:  # noqa: BLE001 - LocalEntryNotFoundError, or a cache it cannot read
                instead = "its bundled copy" if entry.bundled_copy else f"the bundled model {self.default_name!r}"
                lines.append(f"{entry.name} is unavailable: not in the local Hugging Face cache and HF_HUB_OFFLINE "
                             f"is set (picking it shows {instead})")
        return lines

    def prefetch(self) -> None:
        """Start downloading every Hub model that is not in the local cache, in the background (not
        offline), so that picking one later is quick and its config is known to suggestions. A pick
        while its download runs waits for it as usual (`_fetch`)."""
        from huggingface_hub import constants

        if constants.HF_HUB_OFFLINE:
            return
        for entry in self._entries.values():
            if entry.source == "hub" and self._cached_config(entry.location) is None:
                with self._lock:
                    if entry.location not in self._pending:
                        self._pending[entry.location] = self._pool.submit(self._download, entry.location,
                                                                          local_files_only=False)

    def local_config(self, name: str) -> Path | None:
        """The config.json of model `name` already on this machine, without loading it: a bundled
        model's, a Hub model's in the local cache, else its bundled copy's; None if there is none."""
        entry = self._entries.get(name)
        if entry is None:
            return None
        cached = self._cached_config(entry.location) if entry.source == "hub" else None
        directory = entry.location if entry.source == "bundled" else entry.bundled_copy
        return cached or (Path(directory) / "config.json" if directory else None)

    def _cached_config(self, repo_id: str) -> Path | None:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(repo_id, "config.json", cache_dir=self.cache_dir)
        return Path(cached) if isinstance(cached, str) else None

    def hub_cache_folders(self) -> list[Path]:
        """The local cache folder of each Hub model (snapshots and the files they link to), where
        the app may serve its example images from."""
        from huggingface_hub import constants

        cache = Path(self.cache_dir or constants.HF_HUB_CACHE)
        return [cache / ("models--" + e.location.replace("/", "--")) for e in self._entries.values() if e.source == "hub"]

    # ------------------------------------------------------------------ descriptions
    def describe(self, loaded: LoadedModel) -> str:
        """Markdown: what the model is, what it was trained on, its test bits/dim."""
        model = loaded.model
        kind = f"class-conditional ({model.num_classes} classes)" if model.num_classes else "unconditional"
        colour = {1: "greyscale", 3: "RGB"}.get(model.in_channels, f"{model.in_channels}-channel")
        params = sum(p.numel() for p in model.parameters())
        entry = self._entries.get(loaded.name)
        if entry is None or entry.source == "bundled":
            where = "bundled"
        else:
            link = f"[{loaded.name}](https://huggingface.co/{loaded.name})"
            where = link if loaded.source == "hub" else f"bundled copy of {link}"
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

"""explorer.registry: listing without network, loading from a directory and from an offline Hugging
Face cache by repo id, and the fallback to the bundled model when the Hub cannot be reached.

conftest.py sets HF_HUB_OFFLINE=1 before huggingface_hub is imported: nothing here goes online.
"""
import json
import shutil
import threading
import time

import pytest
import torch
from huggingface_hub.errors import LocalEntryNotFoundError

from realnvp import CheckpointError
from explorer.model_files import MODELS_DIR, distinct_examples, hub_ids_from_config
from explorer.registry import ModelRegistry

from helpers import tiny_model

SNAPSHOT = "0123456789abcdef0123456789abcdef01234567"


def save_tiny(directory, seed=0, channels=1, num_classes=None, reference=True):
    model = tiny_model(channels=channels, size=8, dtype=torch.float32, seed=seed, num_classes=num_classes)
    model.save_pretrained(directory)
    if reference:
        (directory / "reference.json").write_text(json.dumps(
            {"dataset": "toy", "split": "test", "num_images": 3, "test_bpd": [5.0, 6.0, 7.0], "mean_test_bpd": 6.0}))
    return model


def make_assets(tmp_path, names=("alpha", "beta")):
    models, examples = tmp_path / "models", tmp_path / "examples"
    for i, name in enumerate(names):
        save_tiny(models / name, seed=i)
    (models / "not-a-model").mkdir(parents=True)  # no config.json: not listed
    (examples / names[0]).mkdir(parents=True)
    for stem in ("digit1_0", "digit0_0"):
        (examples / names[0] / f"{stem}.png").write_bytes(b"png")
    (examples / names[0] / "notes.txt").write_text("not an image")
    return models, examples


def make_hf_cache(cache_dir, repo_id, seed=5):
    """The layout huggingface_hub reads offline: models--OWNER--NAME/{refs/main, snapshots/<hash>/...}."""
    repo = cache_dir / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / SNAPSHOT
    snapshot.mkdir(parents=True)
    model = save_tiny(snapshot, seed=seed)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(SNAPSHOT)
    return model


def same_model(a, b):
    x = torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        return torch.allclose(a.log_prob(x), b.log_prob(x))


# ----------------------------------------------------------------------------- listing
def test_hub_ids_from_env_and_models_json(tmp_path):
    models_file = tmp_path / "models.json"
    models_file.write_text(json.dumps(["owner/one", "owner/two", "not a repo id", 7]))
    ids, warnings = hub_ids_from_config(" owner/two , owner/three,, ../etc", models_file)
    assert ids == ["owner/two", "owner/three", "owner/one"]
    assert any("../etc" in w for w in warnings) and any("not a repo id" in w for w in warnings)

    assert hub_ids_from_config("", tmp_path / "absent.json") == ([], [])
    models_file.write_text("")  # empty file: no models
    assert hub_ids_from_config("", models_file) == ([], [])
    models_file.write_text("{broken")
    ids, warnings = hub_ids_from_config("", models_file)
    assert ids == [] and "not valid JSON" in warnings[0]


def test_registry_lists_bundled_then_hub_models_without_loading(tmp_path, monkeypatch):
    models, examples = make_assets(tmp_path, names=("alpha", "beta", "mnist"))
    monkeypatch.setenv("REALNVP_HUB_MODELS", "someone/flow,alpha")
    registry = ModelRegistry(models, examples, hub_ids=None, cache_dir=str(tmp_path / "cache"))
    # `mnist` is the preferred default; bundled first, then Hub ids; a Hub id equal to a bundled name is dropped
    assert registry.default_name == "mnist"
    assert registry.names() == ["mnist", "alpha", "beta", "someone/flow"]
    assert registry.entry("someone/flow").source == "hub"
    assert registry.entry("beta").source == "bundled"
    assert registry._loaded == {}  # nothing loaded by listing
    with pytest.raises(KeyError, match="unknown model"):
        registry.entry("gamma")


def test_default_model_choice(tmp_path, monkeypatch):
    models, examples = make_assets(tmp_path)
    assert ModelRegistry(models, examples, hub_ids=[]).default_name == "alpha"
    monkeypatch.setenv("REALNVP_DEFAULT_MODEL", "beta")
    assert ModelRegistry(models, examples, hub_ids=[]).default_name == "beta"
    registry = ModelRegistry(models, examples, hub_ids=[], default="nope")
    assert registry.default_name == "alpha" and "not a bundled model" in registry.warnings[0]
    with pytest.raises(CheckpointError, match="no bundled model"):
        ModelRegistry(tmp_path / "empty", examples, hub_ids=[])


def test_real_assets_are_listed():
    registry = ModelRegistry(hub_ids=[])
    names = registry.names()
    assert names and all((MODELS_DIR / n / "config.json").is_file() for n in names)
    assert registry.default_name == ("mnist" if "mnist" in names else names[0])


def test_distinct_examples_prefer_one_per_class(tmp_path):
    paths = [tmp_path / f"{name}.png" for name in ("digit1_0", "digit1_1", "digit2_0", "digit2_1", "digit3_0")]
    assert distinct_examples(paths, 4) == [str(paths[i]) for i in (0, 2, 4, 1)]  # classes first, then the rest
    assert distinct_examples(paths[:1], 3) == [str(paths[0]), None, None]  # too few: padded with None
    assert distinct_examples([], 2) == [None, None]


# ----------------------------------------------------------------------------- loading
def test_load_bundled_directory(tmp_path):
    models, examples = make_assets(tmp_path)
    registry = ModelRegistry(models, examples, hub_ids=[], device="cpu")
    loaded = registry.load("alpha")
    assert loaded.name == "alpha" and loaded.message == "" and not loaded.fell_back
    model = loaded.model
    assert not model.training
    assert not any(p.requires_grad for p in model.parameters())
    assert same_model(model, tiny_model(size=8, dtype=torch.float32, seed=0))
    assert loaded.reference["mean_test_bpd"] == 6.0
    assert [p.name for p in loaded.examples] == ["digit0_0.png", "digit1_0.png"]
    assert registry.load("alpha") is loaded  # cached: one model per name
    assert registry.load() is loaded  # the default
    beta = registry.load("beta")
    assert beta.model is not model and beta.examples == [] and not same_model(beta.model, model)
    text = registry.describe(loaded)
    assert "alpha" in text and "test bits/dim 6.000" in text and "unconditional" in text


def test_load_repo_id_from_offline_hf_cache(tmp_path):
    from huggingface_hub import constants

    assert constants.HF_HUB_OFFLINE  # set by conftest.py: this test cannot go online
    models, examples = make_assets(tmp_path)
    cache = tmp_path / "hf-cache"
    expected = make_hf_cache(cache, "someone/tiny-flow")
    registry = ModelRegistry(models, examples, hub_ids=["someone/tiny-flow"], cache_dir=str(cache), device="cpu")
    loaded = registry.load("someone/tiny-flow")
    assert loaded.message == "" and loaded.name == "someone/tiny-flow"
    assert loaded.directory.name == SNAPSHOT
    assert same_model(loaded.model, expected)
    assert loaded.reference["dataset"] == "toy"
    assert "huggingface.co/someone/tiny-flow" in registry.describe(loaded)


def test_unreachable_hub_falls_back_to_bundled_default(tmp_path):
    models, examples = make_assets(tmp_path)
    registry = ModelRegistry(models, examples, hub_ids=["someone/not-cached"], cache_dir=str(tmp_path / "empty"),
                             device="cpu")
    start = time.monotonic()
    loaded = registry.load("someone/not-cached")
    assert time.monotonic() - start < 5
    assert loaded.fell_back and loaded.name == "alpha" and loaded.requested == "someone/not-cached"
    assert loaded.message.startswith("could not reach the Hub for someone/not-cached: ")
    assert "showing the bundled model 'alpha' instead" in loaded.message
    assert loaded.model is registry.load("alpha").model
    assert registry.describe(loaded).startswith("⚠️ could not reach the Hub")
    assert registry.load("unknown/model").fell_back  # unknown names fall back too


def test_hub_timeout_falls_back_without_waiting_again(tmp_path, monkeypatch):
    """A Hub that does not answer: the first pick waits `timeout`, later picks return at once;
    once the background download completes, the model is used."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    models, examples = make_assets(tmp_path)
    snapshot = tmp_path / "downloaded"
    expected = save_tiny(snapshot, seed=9)
    release = threading.Event()
    calls = []

    def downloader(repo_id, local_files_only):
        calls.append(local_files_only)
        if local_files_only:
            raise LocalEntryNotFoundError("not cached")
        release.wait(10)  # a Hub that hangs until released
        return str(snapshot)

    registry = ModelRegistry(models, examples, hub_ids=["slow/hub"], device="cpu", timeout=0.3, retry_after=60,
                             downloader=downloader)
    start = time.monotonic()
    first = registry.load("slow/hub")
    assert 0.25 < time.monotonic() - start < 5
    assert first.fell_back and "could not reach the Hub for slow/hub: no answer within 0.3 s" in first.message
    start = time.monotonic()
    second = registry.load("slow/hub")
    assert second.fell_back and time.monotonic() - start < 0.2  # the failure is remembered
    release.set()
    registry._pending["slow/hub"].result(timeout=10)
    third = registry.load("slow/hub")
    assert not third.fell_back and same_model(third.model, expected)
    assert calls.count(False) == 1  # one download, shared


def test_broken_models(tmp_path):
    models, examples = make_assets(tmp_path)
    weights = models / "beta" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])  # truncated
    registry = ModelRegistry(models, examples, hub_ids=[], device="cpu")
    loaded = registry.load("beta")
    assert loaded.fell_back and loaded.name == "alpha"
    assert loaded.message.startswith("could not load beta from ") and "damaged or truncated" in loaded.message

    shutil.copy(weights, models / "alpha" / "model.safetensors")
    with pytest.raises(CheckpointError):  # a broken default cannot fall back: a clear error at start-up
        ModelRegistry(models, examples, hub_ids=[], device="cpu").load()


def test_at_most_max_loaded_models_are_kept(tmp_path):
    """The least recently used model other than the default leaves memory first; picked again, it is
    loaded again."""
    models, examples = make_assets(tmp_path, names=("alpha", "beta", "gamma"))
    registry = ModelRegistry(models, examples, hub_ids=[], default="alpha", max_loaded=2)
    registry.load("alpha")
    beta = registry.load("beta")
    assert registry.load("beta") is beta  # kept
    registry.load("gamma")
    assert list(registry._loaded) == ["alpha", "gamma"]  # the default stays, beta (least recent) left
    again = registry.load("beta")
    assert again is not beta and same_model(again.model, beta.model)
    assert list(registry._loaded) == ["alpha", "beta"]
    assert registry.load("alpha").name == "alpha" and len(registry._loaded) == 2


# ----------------------------------------------------------------------------- Hub models with a bundled copy
def test_models_json_entries_may_name_a_bundled_copy(tmp_path):
    from explorer.registry import bundled_copies_from_config

    models_file = tmp_path / "models.json"
    models_file.write_text(json.dumps([{"repo_id": "me/realnvp-mnist", "bundled_copy": "mnist"}, "me/realnvp-photos",
                                       {"repo_id": "bad id"}, {"bundled_copy": "orphan"}]))
    ids, warnings = hub_ids_from_config("", models_file)
    assert ids == ["me/realnvp-mnist", "me/realnvp-photos"] and "bad id" in warnings[0]
    assert bundled_copies_from_config(models_file) == {"me/realnvp-mnist": "mnist"}


def copy_registry(tmp_path, cache):
    models, examples = make_assets(tmp_path, names=("mnist", "beta"))
    return ModelRegistry(models, examples, hub_ids=["me/realnvp-mnist", "me/other"], cache_dir=str(cache),
                         bundled_copies={"me/realnvp-mnist": "mnist"}, device="cpu")


def test_hub_model_with_a_bundled_copy_is_listed_once_and_loads_from_the_cache(tmp_path):
    cache = tmp_path / "hf-cache"
    expected = make_hf_cache(cache, "me/realnvp-mnist", seed=5)
    registry = copy_registry(tmp_path, cache)
    assert registry.names() == ["me/realnvp-mnist", "beta", "me/other"]  # the copy `mnist` is not listed
    assert registry.default_name == "me/realnvp-mnist"
    loaded = registry.load()
    assert (loaded.name, loaded.source, loaded.message) == ("me/realnvp-mnist", "hub", "")
    assert loaded.directory.name == SNAPSHOT and same_model(loaded.model, expected)
    assert "([me/realnvp-mnist](https://huggingface.co/me/realnvp-mnist))" in registry.describe(loaded)
    assert registry.unavailable() == ["me/other is unavailable: not in the local Hugging Face cache and "
                                      "HF_HUB_OFFLINE is set (picking it shows the bundled model 'me/realnvp-mnist')"]
    assert registry.hub_cache_folders() == [cache / "models--me--realnvp-mnist", cache / "models--me--other"]


def test_hub_model_without_the_hub_falls_back_to_its_bundled_copy(tmp_path):
    registry = copy_registry(tmp_path, tmp_path / "empty-cache")
    loaded = registry.load("me/realnvp-mnist")  # the default: the page can be built without the Hub
    assert (loaded.name, loaded.source) == ("me/realnvp-mnist", "bundled")
    assert loaded.message.startswith("could not reach the Hub for me/realnvp-mnist: ")
    assert loaded.message.endswith("; showing its bundled copy instead.")
    assert same_model(loaded.model, tiny_model(size=8, dtype=torch.float32, seed=0))  # the bundled `mnist`
    assert [p.name for p in loaded.examples] == ["digit0_0.png", "digit1_0.png"]  # the copy's examples
    assert registry.load("me/realnvp-mnist").model is loaded.model  # the copy is loaded once
    assert "bundled copy of [me/realnvp-mnist]" in registry.describe(loaded)
    other = registry.load("me/other")
    assert other.name == "me/realnvp-mnist" and "showing the bundled model 'me/realnvp-mnist' instead" in other.message
    assert [line.split(" is unavailable")[0] for line in registry.unavailable()] == ["me/realnvp-mnist", "me/other"]
    assert "picking it shows its bundled copy" in registry.unavailable()[0]


def test_a_missing_bundled_copy_is_reported_and_the_hub_model_listed_alone(tmp_path):
    models, examples = make_assets(tmp_path, names=("alpha",))
    registry = ModelRegistry(models, examples, hub_ids=["me/realnvp-mnist"], bundled_copies={"me/realnvp-mnist": "mnist"},
                             cache_dir=str(tmp_path / "empty"), device="cpu")
    assert "its bundled copy 'mnist' is not a bundled model" in registry.warnings[0]
    assert registry.names() == ["alpha", "me/realnvp-mnist"] and registry.default_name == "alpha"


def test_local_config_and_prefetch_never_load_and_fetch_only_what_is_missing(tmp_path, monkeypatch):
    from huggingface_hub import constants

    cache = tmp_path / "hf-cache"
    make_hf_cache(cache, "me/realnvp-mnist")
    registry = copy_registry(tmp_path, cache)
    snapshot = cache / "models--me--realnvp-mnist" / "snapshots" / SNAPSHOT
    assert registry.local_config("me/realnvp-mnist") == snapshot / "config.json"  # the cached Hub model's
    assert registry.local_config("beta") == tmp_path / "models" / "beta" / "config.json"
    assert registry.local_config("me/other") is None and registry.local_config("nope") is None
    registry.prefetch()  # offline (conftest.py): nothing starts
    assert registry._pending == {}
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    fetched = []
    registry._download = lambda repo_id, local_files_only: fetched.append((repo_id, local_files_only)) or str(snapshot)
    registry.prefetch()
    registry._pending["me/other"].result(timeout=10)
    assert fetched == [("me/other", False)] and list(registry._pending) == ["me/other"]  # not the cached one
    assert registry._loaded == {}

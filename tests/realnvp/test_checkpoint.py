import json
import os

import pytest
import torch
from safetensors.torch import load_file, save_file

from helpers import tiny_model
from realnvp import CheckpointError, RealNVP


@pytest.fixture
def saved(tmp_path):
    model = tiny_model(1, 4, 2, dtype=torch.float32, num_classes=3)
    model.save_pretrained(tmp_path / "ckpt")
    return model, tmp_path / "ckpt"


def test_round_trip_identical_outputs(saved):
    model, path = saved
    assert {"config.json", "model.safetensors"} <= set(os.listdir(path))
    config = json.loads((path / "config.json").read_text())
    assert config["in_channels"] == 1 and config["num_classes"] == 3
    loaded = RealNVP.from_pretrained(path)
    assert not loaded.training
    x = torch.rand(2, 1, 4, 4)
    y = torch.tensor([1, 2])
    assert torch.equal(loaded.log_prob(x, y), model.log_prob(x, y))
    assert torch.equal(loaded.sample(3, 0.8, torch.Generator().manual_seed(0), y=1),
                       model.sample(3, 0.8, torch.Generator().manual_seed(0), y=1))
    state, loaded_state = model.state_dict(), loaded.state_dict()
    assert state.keys() == loaded_state.keys()
    assert all(torch.equal(state[k], loaded_state[k]) for k in state)


def rewrite(path, change):
    tensors = load_file(path / "model.safetensors")
    change(tensors)
    save_file(tensors, path / "model.safetensors")


def test_missing_tensor(saved):
    _, path = saved
    rewrite(path, lambda t: t.pop("scales.0.checkerboard.1.running_mean"))
    with pytest.raises(CheckpointError, match=r"model\.safetensors.*missing tensors: scales\.0\.checkerboard\.1\.running_mean"):
        RealNVP.from_pretrained(path)


def test_extra_tensor(saved):
    _, path = saved
    rewrite(path, lambda t: t.__setitem__("surprise", torch.zeros(2)))
    with pytest.raises(CheckpointError, match="unexpected tensors: surprise"):
        RealNVP.from_pretrained(path)


def test_misshapen_tensor(saved):
    _, path = saved
    rewrite(path, lambda t: t.__setitem__("scales.1.checkerboard.0.s_bound", torch.ones(1, 5, 1, 1)))
    with pytest.raises(CheckpointError, match=r"scales\.1\.checkerboard\.0\.s_bound is \(1, 5, 1, 1\)"):
        RealNVP.from_pretrained(path)


def test_non_finite_tensor(saved):
    _, path = saved
    rewrite(path, lambda t: t["scales.0.checkerboard.0.s_bound"].fill_(float("nan")))
    with pytest.raises(CheckpointError, match="non-finite"):
        RealNVP.from_pretrained(path)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_damaged_file(saved, damage):
    _, path = saved
    weights = path / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"\x00\xff" * 100, "empty": b""}[damage])
    with pytest.raises(CheckpointError, match=r"model\.safetensors: not a readable safetensors file"):
        RealNVP.from_pretrained(path)


def test_missing_files_and_bad_config(saved):
    _, path = saved
    (path / "model.safetensors").rename(path / "moved")
    with pytest.raises(CheckpointError, match="model.safetensors: file not found"):
        RealNVP.from_pretrained(path)
    (path / "moved").rename(path / "model.safetensors")
    config = path / "config.json"
    good = config.read_text()
    config.write_text(good.replace('"in_channels": 1', '"in_channels": 3'))
    with pytest.raises(CheckpointError, match="wrong shapes"):
        RealNVP.from_pretrained(path)
    config.write_text(good[:-5])
    with pytest.raises(CheckpointError, match="config.json: not valid JSON"):
        RealNVP.from_pretrained(path)
    config.write_text(good.replace("{", '{"colour": "blue", ', 1))
    with pytest.raises(CheckpointError, match=r"unknown keys \['colour'\]"):
        RealNVP.from_pretrained(path)
    config.write_text(good.replace('"num_scales": 2', '"num_scales": 0'))
    with pytest.raises(CheckpointError, match="invalid configuration"):
        RealNVP.from_pretrained(path)
    config.unlink()
    with pytest.raises(CheckpointError, match="config.json: not found"):
        RealNVP.from_pretrained(path)


def test_no_pickle_fallback(saved, tmp_path):
    _, path = saved
    (path / "model.safetensors").unlink()
    torch.save({}, path / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match="file not found"):
        RealNVP.from_pretrained(path)


def test_load_by_repo_id_from_offline_cache(saved, tmp_path):
    """A Hub repo id resolves from a pre-populated Hugging Face cache with HF_HUB_OFFLINE=1."""
    model, path = saved
    revision = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "cache" / "models--someone--tiny-realnvp"
    snapshot = repo / "snapshots" / revision
    snapshot.mkdir(parents=True)
    for name in ("config.json", "model.safetensors"):
        (snapshot / name).write_bytes((path / name).read_bytes())
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    loaded = RealNVP.from_pretrained("someone/tiny-realnvp", cache_dir=tmp_path / "cache")
    x = torch.rand(1, 1, 4, 4)
    assert torch.equal(loaded.log_prob(x, 0), model.log_prob(x, 0))
    with pytest.raises(Exception, match="(?i)offline|cannot find|not found|connection"):
        RealNVP.from_pretrained("someone/not-cached", cache_dir=tmp_path / "cache")


def test_checkpoint_of_version_0_1_loads(saved, tmp_path):
    """Version 0.1 named the couplings' log-scale bound `scale`; such files still load, exactly."""
    model, path = saved
    rewrite(path, lambda t: [t.__setitem__(k.replace(".s_bound", ".scale"), t.pop(k))
                             for k in [k for k in t if k.endswith(".s_bound")]])
    from safetensors import safe_open
    with safe_open(str(path / "model.safetensors"), framework="pt") as f:
        assert any(k.endswith(".scale") for k in f.keys())
    loaded = RealNVP.from_pretrained(path)
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), model.state_dict().values()))

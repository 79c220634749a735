"""train.snapshots: a run's checkpoint directories, written atomically and recovered."""
import json

import pytest
import torch
from safetensors.torch import load_file

from realnvp import RealNVP
from train.snapshots import load_training_state, read_run_state, recover, save_checkpoint


def test_atomic_checkpoint_recovers_from_interrupted_swap(tmp_path):
    model = RealNVP(in_channels=1, image_size=4, num_scales=1, hidden_channels=2, num_blocks=0)
    target = tmp_path / "last"
    save_checkpoint(target, model, state={"step": 1})
    # a crash between "last -> last.old" and "last.tmp -> last"
    target.rename(tmp_path / "last.old")
    (tmp_path / "last.tmp").mkdir()
    assert read_run_state(target) == {"step": 1}  # recovers first
    assert (target / "model.safetensors").is_file()
    save_checkpoint(target, model, state={"step": 2})  # a stale last.tmp does not get in the way
    assert json.loads((target / "training_state.json").read_text())["state"]["step"] == 2
    assert not (tmp_path / "last.old").exists() and not (tmp_path / "last.tmp").exists()
    recover(target)  # nothing to do
    assert read_run_state(tmp_path / "nothing") is None


def test_optimizer_state_and_extra_tensors_round_trip(tmp_path):
    model = RealNVP(in_channels=1, image_size=4, num_scales=1, hidden_channels=2, num_blocks=1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.rand(4, 1, 4, 4)).sum().backward()
    optimizer.step()
    extra = {"raw.weight": torch.arange(3.0)}
    save_checkpoint(tmp_path / "last", model, optimizer, {"step": 7}, tensors=extra)
    loaded, state, tensors = load_training_state(tmp_path / "last")
    assert state == {"step": 7} and set(tensors) == {"raw.weight"}
    assert torch.equal(tensors["raw.weight"], extra["raw.weight"])
    again = torch.optim.Adam(model.parameters(), lr=1e-3)
    again.load_state_dict(loaded)
    for param in model.parameters():
        a, b = optimizer.state[param], again.state[param]
        assert all(torch.equal(a[k], b[k]) for k in ("step", "exp_avg", "exp_avg_sq"))
    assert any(k.startswith("optimizer.") for k in load_file(tmp_path / "last" / "training_state.safetensors"))
    with pytest.raises(ValueError, match="prefix 'optimizer.'"):
        save_checkpoint(tmp_path / "bad", model, optimizer, {}, tensors={"optimizer.0.x": torch.zeros(1)})

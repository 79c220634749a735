"""The training side end to end: command line, checkpoints, exact resume after kill -9,
non-finite recovery, two-process torchrun, offline push-to-hub."""
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from realnvp import RealNVP
from train.checkpointing import recover, save_checkpoint
from train.loop import TrainConfig, Trainer, TrainingError, batch_indices, learning_rate

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--dataset", "digits", "--hidden-channels", "4", "--num-blocks", "1", "--batch-size", "32",
        "--warmup-steps", "2", "--eval-batch-size", "400"]


def run_cli(*args, env=None, check=True, timeout=300):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", **(env or {})}
    result = subprocess.run([sys.executable, "-m", "train", *args], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def weights(path):
    return load_file(Path(path) / "model.safetensors")


def same_weights(a, b):
    wa, wb = weights(a), weights(b)
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def test_help_explains_every_option():
    out = run_cli("--help").stdout
    for option in ["--dataset", "--out", "--device", "--steps", "--checkpoint-every", "--seed", "--resume",
                   "--num-scales", "--hidden-channels", "--num-blocks", "--batch-size", "--lr", "--eval-every",
                   "--num-classes", "--push-to-hub"]:
        assert option in out


@pytest.mark.slow
def test_cli_end_to_end_on_digits(tmp_path):
    out = tmp_path / "run"
    result = run_cli(*TINY, "--out", str(out), "--steps", "6", "--eval-every", "3", "--checkpoint-every", "2")
    assert "per-pixel histograms give" in result.stdout + result.stderr
    for name in ["last/config.json", "last/model.safetensors", "last/README.md", "best/model.safetensors",
                 "metrics.jsonl", "curves.png", "samples.png", "samples/step-0000006.png"]:
        assert (out / name).is_file(), name
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [3, 6]
    assert all(0 < r["test_bpd"] < 10 and 0 < r["val_bpd"] < 10 for r in records)
    model = RealNVP.from_pretrained(out / "last")
    assert model.num_levels == 17 and model.image_size == 8
    card = (out / "last" / "README.md").read_text()
    assert f"{records[-1]['test_bpd']:.4f}" in card and "python -m train" in card
    state = json.loads((out / "last" / "training_state.json").read_text())["state"]
    assert state["step"] == 6
    # an existing run is not overwritten by accident
    again = run_cli(*TINY, "--out", str(out), "--steps", "6", check=False)
    assert again.returncode == 2 and "--resume" in again.stderr


@pytest.mark.slow
def test_resume_after_kill_matches_uninterrupted_run(tmp_path):
    steps = ["--steps", "40", "--eval-every", "20", "--checkpoint-every", "5"]
    run_cli(*TINY, "--out", str(tmp_path / "straight"), *steps)

    killed = tmp_path / "killed"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "train", *TINY, "--out", str(killed), *steps], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state_file = killed / "last" / "training_state.json"
    deadline = time.time() + 240
    while time.time() < deadline:
        try:
            if json.loads(state_file.read_text())["state"]["step"] >= 10:
                break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    recover(killed / "last")
    interrupted_at = json.loads(state_file.read_text())["state"]["step"]
    assert 10 <= interrupted_at < 40, "the run must be killed part-way"
    RealNVP.from_pretrained(killed / "last")  # the checkpoint survived the kill intact

    run_cli("--out", str(killed), "--resume", "--steps", "40")
    assert same_weights(tmp_path / "straight" / "last", killed / "last")
    opt_a = load_file(tmp_path / "straight" / "last" / "training_state.safetensors")
    opt_b = load_file(killed / "last" / "training_state.safetensors")
    assert all(torch.equal(opt_a[k], opt_b[k]) for k in opt_a)


def test_resume_refuses_changed_architecture(tmp_path):
    out = tmp_path / "run"
    run_cli(*TINY, "--out", str(out), "--steps", "1", "--eval-every", "1")
    result = run_cli("--out", str(out), "--resume", "--hidden-channels", "8", check=False)
    assert result.returncode == 2 and "differs from the saved run" in result.stderr
    result = run_cli("--out", str(tmp_path / "nothing"), "--resume", check=False)
    assert result.returncode == 2 and "no run to resume" in result.stderr


def small_config(out, **kwargs):
    base = dict(dataset="digits", out=str(out), hidden_channels=4, num_blocks=1, batch_size=32, warmup_steps=2,
                steps=8, eval_every=4, checkpoint_every=2, eval_batch_size=400)
    return TrainConfig(**{**base, **kwargs})


def test_non_finite_step_rolls_back_and_names_the_layer(tmp_path, monkeypatch):
    from realnvp import coupling

    original = coupling.CheckerboardCoupling.encode
    original_step = Trainer.train_step
    current = {"step": None, "fired": False}

    def tracking_step(self):
        current["step"] = self.step
        return original_step(self)

    def poisoned(self, x, y=None):
        out, logdet = original(self, x, y)
        if self.training and current["step"] == 5 and not current["fired"]:  # the first coupling of step 5
            current["fired"] = True
            out = out * float("nan")
        return out, logdet

    monkeypatch.setattr(Trainer, "train_step", tracking_step)
    monkeypatch.setattr(coupling.CheckerboardCoupling, "encode", poisoned)
    logs = []
    trainer = Trainer(small_config(tmp_path / "run"), command="test", log=logs.append)
    result = trainer.run()
    text = "\n".join(logs)
    assert "[non-finite]" in text and "scales.0.checkerboard.0 (CheckerboardCoupling)" in text
    assert "at step 5" in text and "Rolled back to the last checkpoint (step 4)" in text
    assert result["step"] == 8 and trainer.lr_scale == 0.5
    for name in ("last", "best"):
        assert all(torch.isfinite(t).all() for t in weights(tmp_path / "run" / name).values())


def test_repeated_non_finite_steps_stop_with_clear_error(tmp_path, monkeypatch):
    from realnvp import coupling

    original = coupling.ChannelCoupling.encode

    def always_nan(self, x, y=None):
        out, logdet = original(self, x, y)
        return (out * float("nan"), logdet) if self.training else (out, logdet)

    monkeypatch.setattr(coupling.ChannelCoupling, "encode", always_nan)
    trainer = Trainer(small_config(tmp_path / "run", max_rollbacks=2), command="test", log=lambda *_: None)
    with pytest.raises(TrainingError, match=r"gave up after 2 roll-backs.*last good checkpoint"):
        trainer.run()
    assert all(torch.isfinite(t).all() for t in weights(tmp_path / "run" / "last").values())


def test_push_to_hub_offline_fails_clearly_and_keeps_checkpoints(tmp_path):
    logs = []
    trainer = Trainer(small_config(tmp_path / "run", steps=2, eval_every=2, push_to_hub="someone/realnvp-test"),
                      command="test", log=logs.append)
    trainer.run()
    text = "\n".join(logs)
    assert "could not push to someone/realnvp-test" in text and "Nothing was lost" in text
    assert (tmp_path / "run" / "best" / "model.safetensors").is_file()


def test_atomic_checkpoint_recovers_from_interrupted_swap(tmp_path):
    model = RealNVP(in_channels=1, image_size=4, num_scales=1, hidden_channels=2, num_blocks=0)
    target = tmp_path / "last"
    save_checkpoint(target, model, state={"step": 1})
    # a crash between "last -> last.old" and "last.tmp -> last"
    target.rename(tmp_path / "last.old")
    (tmp_path / "last.tmp").mkdir()
    recover(target)
    assert (target / "model.safetensors").is_file()
    save_checkpoint(target, model, state={"step": 2})  # a stale last.tmp does not get in the way
    assert json.loads((target / "training_state.json").read_text())["state"]["step"] == 2
    assert not (tmp_path / "last.old").exists() and not (tmp_path / "last.tmp").exists()


def test_data_order_and_schedule():
    seen = []
    for step in range(10):  # 10 steps of 10 = one epoch of 100 items
        seen += batch_indices(100, 10, seed=3, step=step)
    assert sorted(seen) == list(range(100))
    assert batch_indices(100, 10, 3, 10) != batch_indices(100, 10, 3, 0)  # a new permutation per epoch
    assert batch_indices(100, 10, 3, 4) == batch_indices(100, 10, 3, 4)
    with pytest.raises(TrainingError, match="larger than the training set"):
        batch_indices(5, 10, 0, 0)
    config = TrainConfig(dataset="digits", out="x", lr=1e-3, warmup_steps=10, steps=100, min_lr_fraction=0.1)
    assert learning_rate(config, 0) == pytest.approx(1e-4)
    assert learning_rate(config, 9) == pytest.approx(1e-3 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.09))))
    assert learning_rate(config, 100) == pytest.approx(1e-4)


@pytest.mark.slow
def test_torchrun_two_cpu_processes(tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    torchrun = Path(sys.executable).with_name("torchrun")
    cmd = [str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "train", *TINY, "--out", str(out),
           "--steps", "6", "--eval-every", "3", "--checkpoint-every", "3", "--device", "cpu"]
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    state = json.loads((out / "last" / "training_state.json").read_text())["state"]
    assert state["step"] == 6 and state["world_size"] == 2
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [3, 6], "only rank 0 evaluates and writes metrics"
    model = RealNVP.from_pretrained(out / "last")
    first = RealNVP.from_pretrained(out / "best")
    assert records[-1]["test_bpd"] < 10 and model is not None and first is not None
    # it trained: the weights moved from the initialization
    assert any(p.abs().sum() > 0 for n, p in model.named_parameters() if "original0" in n and "head" in n)

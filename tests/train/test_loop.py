"""The training side end to end: command line, checkpoints, exact resume after kill -9,
options on resume, the schedule across resumes, loss units, the weight average, non-finite
recovery (one process and two under torchrun), offline push-to-hub."""
import contextlib
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
from train.config import TrainConfig
from train.datasets import build_datasets
from train.evaluation import per_image_bpd
from train.loop import Trainer, TrainingError, batch_indices, resumed_config
from train.snapshots import recover

ROOT = Path(__file__).resolve().parents[2]
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


def exact_mean_bpd(model, dataset):
    """The evaluation's figure recomputed: exact bits/dim per image, fixed noise, in float32."""
    values = per_image_bpd(model, dataset, torch.device("cpu"), batch_size=400)
    return sum(values) / len(values)


@contextlib.contextmanager
def one_thread():
    """torch on one thread inside, as the processes started with OMP_NUM_THREADS=1 (the same arithmetic)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def test_help_explains_every_option(capsys):
    # in this process: `python -m train --help` as a process is tests/test_packaging.py's (installed, and its
    # realnvp-train script); the kill -9 test below starts `python -m train` too
    from train.__main__ import main

    with pytest.raises(SystemExit) as exit:
        main(["--help"])
    assert exit.value.code == 0
    out = capsys.readouterr().out
    for option in ["--dataset", "--out", "--device", "--steps", "--checkpoint-every", "--seed", "--resume",
                   "--num-scales", "--hidden-channels", "--num-blocks", "--batch-size", "--lr", "--eval-every",
                   "--num-classes", "--push-to-hub"]:
        assert option in out


@pytest.mark.slow
def test_cli_end_to_end_on_digits(tmp_path, capsys):
    from train.__main__ import main

    out = tmp_path / "run"
    # the command line's main() in this process; the process itself and its exit status: the refusal below
    with one_thread():
        assert main([*TINY, "--out", str(out), "--steps", "6", "--eval-every", "3", "--checkpoint-every", "2"]) == 0
    assert "per-pixel histograms give" in "".join(capsys.readouterr())
    for name in ["last/config.json", "last/model.safetensors", "last/README.md", "best/model.safetensors",
                 "metrics.jsonl", "curves.png", "samples.png", "samples/step-0000006.png"]:
        assert (out / name).is_file(), name
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 3, 4, 6], "evaluations, and the training mean at checkpoints"
    evaluations = [r for r in records if "val_bpd" in r]
    assert [r["step"] for r in evaluations] == [3, 6]
    assert all(0 < r["test_bpd"] < 10 and 0 < r["val_bpd"] < 10 for r in evaluations)
    assert all(0 < r["train_bpd"] < 10 and r["lr"] > 0 for r in records)
    model = RealNVP.from_pretrained(out / "last")
    assert model.num_levels == 17 and model.image_size == 8
    # the reported test figure is last/'s exact bits/dim on the test split, to the last bit (a uniform model
    # gets log2 17 = 4.09, about what these 6 steps reach: only the exact figure tells a wrong one)
    _, _, test_set, _ = build_datasets("digits")
    assert exact_mean_bpd(model, test_set) == pytest.approx(records[-1]["test_bpd"], rel=0, abs=1e-12)
    card = (out / "last" / "README.md").read_text()
    assert f"{records[-1]['test_bpd']:.4f}" in card and "python -m train" in card
    state = json.loads((out / "last" / "training_state.json").read_text())["state"]
    assert state["step"] == 6
    # an existing run is not overwritten by accident
    again = run_cli(*TINY, "--out", str(out), "--steps", "6", check=False)
    assert again.returncode == 2 and "--resume" in again.stderr


@pytest.mark.slow
def test_resume_after_kill_matches_uninterrupted_run(tmp_path):
    from train.__main__ import main

    steps = ["--steps", "20", "--eval-every", "10", "--checkpoint-every", "5"]
    killed = tmp_path / "killed"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "train", *TINY, "--out", str(killed), *steps], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state_file = killed / "last" / "training_state.json"
    deadline = time.time() + 240
    while time.time() < deadline:
        try:
            if json.loads(state_file.read_text())["state"]["step"] >= 5:
                break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    recover(killed / "last")
    interrupted_at = json.loads(state_file.read_text())["state"]["step"]
    assert 5 <= interrupted_at < 20, "the run must be killed part-way"
    RealNVP.from_pretrained(killed / "last")  # the checkpoint survived the kill intact

    # the uninterrupted run and the resume in this process (only the kill needs a process of its own)
    with one_thread():
        assert main([*TINY, "--out", str(tmp_path / "straight"), *steps]) == 0
        assert main(["--out", str(killed), "--resume", "--steps", "20"]) == 0
    assert same_weights(tmp_path / "straight" / "last", killed / "last")
    opt_a = load_file(tmp_path / "straight" / "last" / "training_state.safetensors")
    opt_b = load_file(killed / "last" / "training_state.safetensors")
    assert all(torch.equal(opt_a[k], opt_b[k]) for k in opt_a)


def test_resume_applies_and_logs_or_refuses_each_option(tmp_path, capsys):
    from train.__main__ import main

    out = tmp_path / "run"
    assert main([*TINY, "--out", str(out), "--steps", "2", "--eval-every", "2"]) == 0
    capsys.readouterr()
    assert main(["--out", str(out), "--resume", "--hidden-channels", "8", "--image-size", "8", "--lr", "1e-4"]) == 2
    err = capsys.readouterr().err
    assert "--hidden-channels 8 differs from the saved run's 4: the model's shape is fixed for a run" in err
    assert "--image-size 8 differs from the saved run's None: the data set and its train/validation/test split" in err
    assert main(["--out", str(out), "--resume", "--steps", "3", "--lr", "1e-4", "--grad-clip", "5",
                 "--eval-every", "1"]) == 0
    logged = capsys.readouterr().out
    assert "resume: --lr 0.0001 (was 0.001)" in logged and "resume: --grad-clip 5.0 (was 100.0)" in logged
    assert "resume: --steps 3 (was 2)" in logged and "resume: --eval-every 1 (was 2)" in logged
    state = json.loads((out / "last" / "training_state.json").read_text())["state"]
    assert state["step"] == 3 and state["config"]["lr"] == 1e-4 and state["config"]["grad_clip"] == 5.0
    assert main(["--out", str(tmp_path / "nothing"), "--resume"]) == 2
    assert "no run to resume" in capsys.readouterr().err


def small_config(out, **kwargs):
    base = dict(dataset="digits", out=str(out), hidden_channels=4, num_blocks=1, batch_size=32, warmup_steps=2,
                steps=8, eval_every=4, checkpoint_every=2, eval_batch_size=400)
    return TrainConfig(**{**base, **kwargs})


def test_non_finite_step_rolls_back_and_names_the_layer(tmp_path, monkeypatch):
    from realnvp import coupling

    original = coupling.CheckerboardCoupling.encode
    original_step = Trainer.train_step
    current = {"step": None, "attempts": {}}

    def tracking_step(self):
        current["step"] = self.step
        current["attempts"][self.step] = current["attempts"].get(self.step, 0) + 1
        return original_step(self)

    def poisoned(self, x, y=None):
        out, logdet = original(self, x, y)
        if self.training and current["step"] == 5 and current["attempts"][5] == 1:  # the first try of step 5
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
    assert result["step"] == 8 and trainer.lr_factor == 0.5
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


def test_data_order():
    seen = []
    for step in range(10):  # 10 steps of 10 = one epoch of 100 items
        seen += batch_indices(100, 10, seed=3, step=step)
    assert sorted(seen) == list(range(100))
    assert batch_indices(100, 10, 3, 10) != batch_indices(100, 10, 3, 0)  # a new permutation per epoch
    assert batch_indices(100, 10, 3, 4) == batch_indices(100, 10, 3, 4)
    with pytest.raises(TrainingError, match="larger than the training set"):
        batch_indices(5, 10, 0, 0)


class Interrupted(Exception):
    pass


def interrupted_run(config, at_step, monkeypatch, log=lambda *_: None):
    """Run `config` until it is about to take step `at_step`, then stop as a kill would."""
    original = Trainer.train_step

    def step(self):
        if self.step == at_step:
            raise Interrupted
        return original(self)

    monkeypatch.setattr(Trainer, "train_step", step)
    with pytest.raises(Interrupted):
        Trainer(config, command="test", log=log).run()
    monkeypatch.setattr(Trainer, "train_step", original)


def recording_rates(monkeypatch):
    """{step: learning rate used} of every optimizer step taken from now on."""
    rates = {}
    original = Trainer.train_step

    def step(self):
        taken = self.step
        bpd = original(self)
        rates[taken] = self.optimizer.param_groups[0]["lr"]
        return bpd

    monkeypatch.setattr(Trainer, "train_step", step)
    return rates


def test_resume_with_more_steps_continues_the_decay(tmp_path, monkeypatch):
    out = tmp_path / "run"
    config = small_config(out, steps=6, eval_every=100, checkpoint_every=2)  # evaluated only at the end
    interrupted_run(config, 5, monkeypatch)  # the last checkpoint is at step 4
    rates = recording_rates(monkeypatch)
    logs = []
    resumed = resumed_config(out, {"steps": 10}, log=logs.append)
    Trainer(resumed, command="test", log=logs.append).run(resume=True)
    assert sorted(rates) == list(range(4, 10))
    uninterrupted_at_4 = 1e-3 * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * 4 / 6)))
    assert rates[4] == pytest.approx(uninterrupted_at_4, rel=1e-12), "continuous at the resume step"
    assert all(b <= a for a, b in zip([rates[s] for s in range(4, 10)], [rates[s] for s in range(5, 10)]))
    assert rates[9] > 1e-3 * 0.05
    assert any("decays from" in line and "at step 10" in line for line in logs), logs


def test_old_runs_resume_lr_scale_and_their_loss_units(tmp_path):
    """A run written before lr_factor, schedule segments, --loss-units and --ema-decay existed."""
    out = tmp_path / "run"
    Trainer(small_config(out, steps=4, eval_every=4, checkpoint_every=4), command="test", log=lambda *_: None).run()
    state_file = out / "last" / "training_state.json"
    saved = json.loads(state_file.read_text())
    state = saved["state"]
    del state["lr_factor"], state["schedule"], state["config"]["loss_units"], state["config"]["ema_decay"]
    state["lr_scale"] = 0.25
    state_file.write_text(json.dumps(saved))
    logs = []
    config = resumed_config(out, {"steps": 6}, log=logs.append)
    assert config.loss_units == "bits" and config.ema_decay == 0
    trainer = Trainer(config, command="test", log=logs.append)
    trainer.run(resume=True)
    assert trainer.step == 6 and trainer.lr_factor == 0.25 and trainer.config.loss_units == "bits"
    state = json.loads(state_file.read_text())["state"]
    assert state["lr_factor"] == 0.25 and "lr_scale" not in state and state["config"]["loss_units"] == "bits"
    assert [s["start"] for s in state["schedule"]] == [0, 4]


def test_loss_units_scale_the_gradients_by_d_ln2(tmp_path):
    grads, bpds = {}, {}
    for units in ("bits", "nats"):
        config = small_config(tmp_path / units, loss_units=units, scale_l2=0.0, grad_clip=0.0, amp="off")
        trainer = Trainer(config, command="test", log=lambda *_: None)
        bpds[units] = trainer.train_step()
        grads[units] = {n: p.grad.clone() for n, p in trainer.model.named_parameters() if p.grad is not None}
        dims = trainer.info.channels * trainer.info.image_size ** 2
    assert bpds["bits"] == bpds["nats"], "progress and metrics report bits/dim either way"
    ratio = dims * math.log(2)
    nats = torch.cat([g.flatten() for g in grads["nats"].values()])
    bits = torch.cat([g.flatten() for g in grads["bits"].values()])
    assert nats.norm() > 0 and grads["nats"].keys() == grads["bits"].keys()
    # float32 gradients of a batch mean: compare against the scale of the whole gradient
    assert torch.allclose(nats, bits * ratio, rtol=1e-4, atol=1e-5 * nats.abs().max().item())
    assert (nats.norm() / bits.norm()).item() == pytest.approx(ratio, rel=1e-5)


def test_weight_average_is_evaluated_saved_and_resumed_exactly(tmp_path, monkeypatch):
    config = small_config(tmp_path / "straight", ema_decay=0.8, steps=8, eval_every=4, checkpoint_every=2)
    trainer = Trainer(config, command="test", log=lambda *_: None)
    trainer.run()
    last = tmp_path / "straight" / "last"
    saved = weights(last)
    state_tensors = load_file(last / "training_state.safetensors")
    model_state = trainer.model.state_dict()
    for name, value in trainer.ema.tensors.items():
        assert torch.equal(saved[name], value), "model.safetensors holds the average"
        assert torch.equal(state_tensors["raw." + name], model_state[name]), "the training state the raw weights"
    assert any(not torch.equal(saved[n], model_state[n]) for n in saved), "the average differs from the weights"
    assert "the saved weights are the moving average (decay 0.8)" in (last / "README.md").read_text()
    record = [json.loads(line) for line in (tmp_path / "straight" / "metrics.jsonl").read_text().splitlines()][-1]
    model = RealNVP.from_pretrained(last)
    assert sum(per_image_bpd(model, trainer.val_set, torch.device("cpu"))) / len(trainer.val_set) == pytest.approx(
        record["val_bpd"], abs=1e-12), "the reported figures are the average's"

    interrupted_run(small_config(tmp_path / "killed", ema_decay=0.8, steps=8, eval_every=4, checkpoint_every=2),
                    5, monkeypatch)
    resumed = resumed_config(tmp_path / "killed", {})
    assert resumed.ema_decay == 0.8
    Trainer(resumed, command="test", log=lambda *_: None).run(resume=True)
    for name in ("last", "best"):
        assert same_weights(tmp_path / "straight" / name, tmp_path / "killed" / name)
    again = load_file(tmp_path / "killed" / "last" / "training_state.safetensors")
    assert again.keys() == state_tensors.keys() and all(torch.equal(again[k], state_tensors[k]) for k in again)


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
    assert all("val_bpd" in r for r in records)
    model = RealNVP.from_pretrained(out / "last")
    first = RealNVP.from_pretrained(out / "best")
    assert records[-1]["test_bpd"] < 10 and model is not None and first is not None
    _, _, test_set, _ = build_datasets("digits")
    assert exact_mean_bpd(model, test_set) == pytest.approx(records[-1]["test_bpd"], rel=0, abs=1e-12)
    # it trained: the weights moved from the initialization
    assert any(p.abs().sum() > 0 for n, p in model.named_parameters() if "original0" in n and "head" in n)


@pytest.mark.slow
def test_torchrun_non_finite_on_one_process_rolls_back_all_together(tmp_path):
    """Process 1 alone meets a NaN loss (step 3) and a NonFiniteError in its forward (step 5):
    both processes roll back together (no hang in the gradient all-reduce) and end with the
    same weights."""
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    torchrun = Path(sys.executable).with_name("torchrun")
    cmd = [str(torchrun), "--standalone", "--nproc_per_node", "2", str(ROOT / "tests" / "ddp_nonfinite_worker.py"),
           str(out)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # torchrun; the workers run in their own process groups
        for pid_file in out.glob("pid-*"):
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
        proc.communicate()
        pytest.fail("the processes hung: one rolled back while the other waited in the all-reduce")
    assert proc.returncode == 0, stderr[-3000:]
    assert "[non-finite] the loss is nan on process 1 at step 3" in stdout
    assert "[non-finite] injected in the forward of process 1 on process 1 at step 5" in stdout
    for step, back_to in ((3, 2), (5, 4)):
        assert (f"[non-finite] non-finite values on process 1 of 2 at step {step}. "
                f"Rolled back to the last checkpoint (step {back_to})") in stdout
    counters = [json.loads((out / f"rank-{r}.json").read_text()) for r in (0, 1)]
    assert counters[0] == counters[1] == {"step": 8, "rollbacks": 2, "lr_factor": 0.25}
    a, b = (load_file(out / f"rank-{r}.safetensors") for r in (0, 1))
    parameters = {name for name, _ in RealNVP.from_pretrained(out / "last").named_parameters()}
    assert parameters <= a.keys() and all(torch.equal(a[k], b[k]) for k in parameters)


def test_max_train_minutes_stops_with_a_final_evaluation_and_resumes(tmp_path):
    out = tmp_path / "run"
    # 4 steps, evaluated and saved every 4: step 1 is neither an evaluation nor a checkpoint step, so the
    # evaluation and the checkpoint there come from the time limit alone
    config = small_config(out, steps=4, eval_every=4, checkpoint_every=4, max_train_minutes=1e-9)
    trainer = Trainer(config, command="test", log=lambda *_: None)
    result = trainer.run()
    assert result["step"] == 1 and "test_bpd" in result  # stopped after one step, evaluated
    state = json.loads((out / "last" / "training_state.json").read_text())["state"]
    assert state["step"] == 1 and (out / "best").is_dir()
    config = resumed_config(out, {"max_train_minutes": 0.0}, log=lambda *_: None)
    assert Trainer(config, command="test", log=lambda *_: None).run(resume=True)["step"] == 4


def test_init_from_starts_from_the_saved_weights_and_refuses_another_shape(tmp_path):
    first = Trainer(small_config(tmp_path / "first", amp="off"), command="test", log=lambda *_: None)
    first.train_step()
    first.save("best")
    second = Trainer(small_config(tmp_path / "second", init_from=str(tmp_path / "first" / "best")), command="test",
                     log=lambda *_: None)
    saved = weights(tmp_path / "first" / "best")
    assert all(torch.equal(t, saved[k]) for k, t in second.model.state_dict().items())
    fresh = Trainer(small_config(tmp_path / "fresh"), command="test", log=lambda *_: None)
    assert not all(torch.equal(t, saved[k]) for k, t in fresh.model.state_dict().items())
    with pytest.raises(TrainingError, match="hidden_channels: 4 there, 8 here"):
        Trainer(small_config(tmp_path / "wider", hidden_channels=8, init_from=str(tmp_path / "first" / "best")),
                command="test", log=lambda *_: None)


def test_init_from_with_more_blocks_keeps_the_density_and_the_added_blocks_learn(tmp_path):
    first = Trainer(small_config(tmp_path / "first", amp="off", num_blocks=1), command="test", log=lambda *_: None)
    for _ in range(3):
        first.train_step()
    first.save("best")
    logs = []
    grown = Trainer(small_config(tmp_path / "grown", amp="off", num_blocks=3, init_from=str(tmp_path / "first" / "best")),
                    command="test", log=logs.append)
    assert any("2 residual blocks added to each s/t network" in line for line in logs)
    saved = RealNVP.from_pretrained(tmp_path / "first" / "best").eval()
    x = saved.dequantize(torch.stack([first.test_set[i][0] for i in range(16)]).double(),
                         generator=torch.Generator().manual_seed(0)).float()
    grown.model.eval()
    with torch.no_grad():
        torch.testing.assert_close(grown.model.log_prob(x), saved.log_prob(x), rtol=0, atol=1e-4)
    grown.model.train()
    added = grown.model.scales[0].checkerboard[0].net.blocks[2]
    before = added.body[-1].weight.detach().clone()
    assert not before.any(), "an added block starts as the identity"
    grown.train_step()
    assert added.body[-1].weight.detach().abs().sum() > 0, "and learns from the first step"
    grown.save("best")
    with pytest.raises(TrainingError, match="num_blocks: 3 there, 1 here"):
        Trainer(small_config(tmp_path / "shrunk", num_blocks=1, init_from=str(tmp_path / "grown" / "best")),
                command="test", log=lambda *_: None)


def test_shifted_training_changes_the_batches_resumes_exactly_and_is_on_the_card(tmp_path, monkeypatch):
    shifted = dict(max_shift=1, steps=4, eval_every=4, checkpoint_every=2)
    first_steps = {}
    for max_shift in (0, 1):  # the same first step but for the shifts
        trainer = Trainer(small_config(tmp_path / f"first-{max_shift}", max_shift=max_shift), command="test",
                          log=lambda *_: None)
        trainer.train_step()
        first_steps[max_shift] = trainer.model.state_dict()
    assert any(not torch.equal(t, first_steps[1][k]) for k, t in first_steps[0].items()), "the shifts reach training"
    Trainer(small_config(tmp_path / "straight", **shifted), command="test", log=lambda *_: None).run()
    assert "training images shifted by up to 1 pixel" in (tmp_path / "straight" / "last" / "README.md").read_text()
    interrupted_run(small_config(tmp_path / "killed", **shifted), 3, monkeypatch)
    resumed = resumed_config(tmp_path / "killed", {})
    assert resumed.max_shift == 1
    Trainer(resumed, command="test", log=lambda *_: None).run(resume=True)
    assert same_weights(tmp_path / "straight" / "last", tmp_path / "killed" / "last")


def test_keep_evaluated_keeps_each_evaluated_model(tmp_path):
    out = tmp_path / "run"
    Trainer(small_config(out, keep_evaluated=True, ema_decay=0.9), command="test", log=lambda *_: None).run()
    kept = sorted(p.name for p in out.glob("step-*"))
    assert kept == ["step-0000004", "step-0000008"]
    assert sorted(p.name for p in (out / "step-0000008").iterdir()) == ["README.md", "config.json", "model.safetensors"]
    assert same_weights(out / "step-0000008", out / "last"), "the averaged weights, as last/ saves them"
    assert not same_weights(out / "step-0000004", out / "step-0000008")
    RealNVP.from_pretrained(out / "step-0000004")
    Trainer(small_config(tmp_path / "plain", steps=4), command="test", log=lambda *_: None).run()
    assert not list((tmp_path / "plain").glob("step-*")), "off by default"


def test_photo_scales_refused_for_other_data_sets(tmp_path):
    with pytest.raises(TrainingError, match="--photo-scales 4: only the photos data set has scales"):
        Trainer(small_config(tmp_path / "digits", photo_scales=4), command="test", log=lambda *_: None)
    assert not (tmp_path / "digits").exists(), "refused before anything is written"
    with pytest.raises(TrainingError, match="--photo-max-side 512: only the photos data set has scales"):
        Trainer(small_config(tmp_path / "digits", photo_max_side=512), command="test", log=lambda *_: None)


def test_photo_scales_reach_the_card_recipe(tmp_path, fake_photos):
    from helpers import FAKE_CROP

    config = small_config(tmp_path / "photos", dataset="photos", image_size=FAKE_CROP, photo_scales=4, photo_max_side=128, photo_grey_fraction=0.1, steps=2,
                          eval_every=2, checkpoint_every=2)
    # the checkpoint a run writes first, with its card (the run itself adds nothing to the recipe)
    Trainer(config, command="test", log=lambda *_: None).save("last")
    card = (tmp_path / "photos" / "last" / "README.md").read_text()
    assert "training crops from 4 shorter sides per octave" in card
    assert "training crops from shorter sides up to 128 px" in card
    assert "10% of the training crops turned grey" in card


def test_init_from_a_run_with_another_split_warns_with_the_count(tmp_path):
    first = Trainer(small_config(tmp_path / "first", seed=3), command="test", log=lambda *_: None)
    first.save("best")
    start = str(tmp_path / "first" / "best")

    def warnings(**options):
        logs = []
        trainer = Trainer(small_config(tmp_path / "next", init_from=start, **options), command="test", log=logs.append)
        return trainer, [line for line in logs if "warning" in line]

    trainer, logged = warnings(seed=4)
    # their training images: every image of this run's train+validation outside their validation split
    theirs = set(first.train_set.indices)
    expected = len(set(trainer.val_set.indices) & theirs)
    assert 0 < expected < len(trainer.val_set)
    assert len(logged) == 1
    assert f"trained on {expected} of this run's {len(trainer.val_set)} validation images" in logged[0]
    assert "--seed 3 --val-fraction 0.1" in logged[0]
    assert warnings(seed=3)[1] == [], "the same split: nothing to warn about"
    assert len(warnings(seed=3, val_fraction=0.2)[1]) == 1, "a larger validation set takes in their training images"


@pytest.mark.parametrize("conditioning", ["networks", "latent_means"])
def test_class_loss_needs_a_conditional_model_and_changes_the_step(tmp_path, conditioning):
    with pytest.raises(TrainingError, match="--class-loss-weight needs a class-conditional model"):
        Trainer(small_config(tmp_path / "u", class_loss_weight=1.0), command="test", log=lambda *_: None)
    grads = {}
    for weight in (0.0, 10.0):
        config = small_config(tmp_path / str(weight), num_classes=10, class_loss_weight=weight, conditioning=conditioning,
                              class_loss_images=64, scale_l2=0.0, grad_clip=0.0, amp="off")  # more than the batch
        trainer = Trainer(config, command="test", log=lambda *_: None)
        assert math.isfinite(trainer.train_step())
        grads[weight] = torch.cat([p.grad.flatten() for p in trainer.model.parameters() if p.grad is not None])
    assert not torch.allclose(grads[0.0], grads[10.0])


def test_init_from_starts_class_means_only_for_a_model_made_conditional(tmp_path):
    """From an unconditional DIR the means start at the classes' mean latents (not zero); from a
    conditional DIR with class means, its trained means are kept as they are."""
    shape = dict(in_channels=1, image_size=8, num_scales=2, hidden_channels=4, num_blocks=1, num_levels=17)
    RealNVP(**shape).save_pretrained(tmp_path / "unconditional")
    trained = RealNVP(**shape, num_classes=10, conditioning="latent_means")
    with torch.no_grad():
        trained.class_shift.means.normal_(generator=torch.Generator().manual_seed(0))
    trained.save_pretrained(tmp_path / "conditional")
    options = dict(num_classes=10, conditioning="latent_means", amp="off")
    started = Trainer(small_config(tmp_path / "a", init_from=str(tmp_path / "unconditional"), **options),
                      command="test", log=lambda *_: None)
    assert started.model.class_shift.means.abs().sum() > 0
    kept = Trainer(small_config(tmp_path / "b", init_from=str(tmp_path / "conditional"), **options),
                   command="test", log=lambda *_: None)
    assert torch.equal(kept.model.class_shift.means, trained.class_shift.means)

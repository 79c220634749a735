"""Training with a learned dequantizer (--dequantizer-hidden): started from a uniform-noise model it
starts at that model's density, it learns, its figures are the bound with log q, and it resumes exactly."""
import json

import numpy as np
import torch
from safetensors.torch import load_file

from helpers import load_bench
from realnvp import RealNVP
from train.config import TrainConfig
from train.datasets import build_datasets
from train.evaluation import EVAL_NOISE_SEED, per_image_bpd
from train.export import export
from train.loop import Trainer, resumed_config


def config(out, **kwargs):
    base = dict(dataset="digits", out=str(out), hidden_channels=4, num_blocks=1, batch_size=32, warmup_steps=2,
                steps=6, eval_every=6, checkpoint_every=2, eval_batch_size=400, amp="off")
    return TrainConfig(**{**base, **kwargs})


def run(cfg, resume=False):
    return Trainer(cfg, command="test", log=lambda *_: None).run(resume=resume)


def test_a_dequantizer_added_to_a_uniform_model_starts_there_learns_and_resumes_exactly(tmp_path):
    first = Trainer(config(tmp_path / "uniform"), command="test", log=lambda *_: None)
    first.train_step()
    first.save("best")
    start = RealNVP.from_pretrained(tmp_path / "uniform" / "best")
    _, _, test_set, _ = build_datasets("digits")
    x = torch.stack([test_set[i][0] for i in range(16)])

    learned = dict(init_from=str(tmp_path / "uniform" / "best"), dequantizer_hidden=8, lr=3e-3)
    fresh = Trainer(config(tmp_path / "fresh", **learned), command="test", log=lambda *_: None).model.eval()
    xd = start.dequantize(x, generator=torch.Generator().manual_seed(0))
    assert torch.equal(fresh.log_prob(xd), start.log_prob(xd)), "the flow starts as the saved one"
    assert torch.equal(fresh.dequantize_with_log_q(x)[1], torch.zeros_like(x)), "q starts as uniform noise"

    # stopped after one step by the time limit, resumed to the end: the weights of a straight run
    assert run(config(tmp_path / "stopped", **learned, max_train_minutes=1e-9))["step"] == 1
    assert run(resumed_config(tmp_path / "stopped", {"max_train_minutes": 0.0}, log=lambda *_: None), True)["step"] == 6
    run(config(tmp_path / "straight", **learned))
    a, b = (load_file(tmp_path / name / "last" / "model.safetensors") for name in ("stopped", "straight"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

    model = RealNVP.from_pretrained(tmp_path / "straight" / "last")
    assert "learned dequantization noise" in (tmp_path / "straight" / "last" / "README.md").read_text()
    with torch.no_grad():
        _, log_q = model.dequantize_with_log_q(x, generator=torch.Generator().manual_seed(0))
    assert log_q.abs().sum() > 0, "q learned: it is no longer uniform noise"
    # the reported test figure is the bound with log q, recomputed exactly
    values = per_image_bpd(model, test_set, torch.device("cpu"), 400)
    records = [json.loads(line) for line in (tmp_path / "straight" / "metrics.jsonl").read_text().splitlines()]
    assert sum(values) / len(values) == [r for r in records if "test_bpd" in r][-1]["test_bpd"]

    # the bundle says its figures are the bound, and bench/quality.py's check reproduces them
    reference = export(tmp_path / "straight" / "last", "digits", "toy", examples=2, assets=tmp_path / "assets",
                       device="cpu")
    assert "learned noise" in reference["dequantization"] and reference["mean_test_bpd"] == np.mean(values)
    quality = load_bench("quality")
    assert quality.noise_seed(reference) == EVAL_NOISE_SEED
    rechecked = quality.model_bpd(model, test_set, 8, quality.noise_seed(reference))
    assert np.allclose(rechecked, reference["test_bpd"][:8], atol=1e-5)

"""Throughput benchmark: training and evaluation images/s, sampling latency, peak memory, and
achieved GFLOP/s (FLOPs counted by torch.utils.flop_counter) as a fraction of what a plain fp32
2048x2048 matrix product reaches on the same machine in the same run.

    python bench/bench.py [--device cpu|cuda] [--repeats N] [--configs mnist,paper]
"""
from __future__ import annotations

import argparse
import platform
import resource
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from realnvp import RealNVP  # noqa: E402
from realnvp.precision import fast_dtype  # noqa: E402
import results  # noqa: E402  (bench/results.py: --record writes RESULTS.md)

CONFIGS = {
    # name: (model kwargs, batch size)
    "mnist": (dict(in_channels=1, image_size=28, num_scales=2, hidden_channels=32, num_blocks=4), 64),
    "paper": (dict(in_channels=3, image_size=32, num_scales=2, hidden_channels=64, num_blocks=8), 64),
}


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device, repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    sync(device)
    return (time.perf_counter() - start) / repeats


def matmul_gflops(device, dtype=torch.float32, n=2048, repeats=10) -> float:
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    seconds = timed(lambda: a @ b, device, repeats)
    return 2 * n**3 / seconds / 1e9


def peak_memory_mb(device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def bench_config(name, kwargs, batch, device, repeats, amp, channels_last):
    torch.manual_seed(0)
    model = RealNVP(**kwargs).to(device)
    if amp:
        model.set_autocast(torch.bfloat16)
        model.sampling_dtype = torch.bfloat16
    if channels_last:
        model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.rand(batch, kwargs["in_channels"], kwargs["image_size"], kwargs["image_size"], device=device)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    x = model.dequantize(x)

    def train_step():
        model.train()
        loss = -model(x).mean()  # the training objective (batch statistics)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def eval_step():
        model.eval()
        with torch.no_grad():
            model.log_prob(x)

    with FlopCounterMode(display=False) as counter:
        train_step()
    train_flops = counter.get_total_flops()
    with FlopCounterMode(display=False) as counter:
        eval_step()
    eval_flops = counter.get_total_flops()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    train_s = timed(train_step, device, repeats)
    eval_s = timed(eval_step, device, repeats)
    model.eval()
    sample_s = timed(lambda: model.sample(64, 1.0), device, repeats)
    return {
        "config": name, "batch": batch, "params_M": sum(p.numel() for p in model.parameters()) / 1e6,
        "train_img_s": batch / train_s, "eval_img_s": batch / eval_s, "sample64_s": sample_s,
        "train_gflops": train_flops / train_s / 1e9, "eval_gflops": eval_flops / eval_s / 1e9,
        "peak_mem_MB": peak_memory_mb(device),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--configs", default="mnist,paper")
    parser.add_argument("--amp", choices=["auto", "on", "off"], default="auto",
                        help="bf16 s/t convolutions in training and sampling (auto: where bf16 is native)")
    parser.add_argument("--channels-last", action="store_true")
    args = parser.parse_args()
    device = torch.device(args.device)
    what = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    peak = matmul_gflops(device)
    print(f"device: {what}; torch {torch.__version__}; fp32 2048x2048 matmul: {peak:.1f} GFLOP/s")
    header = "| config | batch | params (M) | train img/s | eval img/s | 64 samples (s) | train GFLOP/s (% of matmul) | eval GFLOP/s | peak mem (MB) |"
    print(header)
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.configs.split(","):
        kwargs, batch = CONFIGS[name]
        amp = args.amp == "on" or (args.amp == "auto" and fast_dtype(device) == torch.bfloat16)
        r = bench_config(name, kwargs, batch, device, args.repeats, amp, args.channels_last)
        print(f"| {name} | {r['batch']} | {r['params_M']:.2f} | {r['train_img_s']:.1f} | {r['eval_img_s']:.1f} | "
              f"{r['sample64_s']:.3f} | {r['train_gflops']:.1f} ({100 * r['train_gflops'] / peak:.0f}%) | "
              f"{r['eval_gflops']:.1f} | {r['peak_mem_MB']:.0f} |", flush=True)


if __name__ == "__main__":
    sys.exit(results.run_recorded('Throughput', main))

"""Side-by-side throughput against chrischute/real-nvp (the most used PyTorch Real NVP) at the
same constructor arguments: training images/s (forward, backward, Adam step) and sampling
images/s of ours with its defaults (bf16 s/t convolutions where the CPU runs bf16 natively), of
ours in float32, and of the peer; each measured in its own process, the three interleaved,
median of `--rounds`. Nominal GFLOP/s = FLOPs counted by torch.utils.flop_counter / measured time.

    python bench/peer.py --peer-dir ../shared/peers/real-nvp [--configs mnist,paper] [--rounds 3]
    python bench/peer.py --device cuda   # on a GPU

On a GPU "ours" means the trainer's defaults there (channels_last; float32, since bf16 autocast
measured slower there, see realnvp.precision.fast_dtype); "ours float32" and the peer run as
they ship. Timings synchronize the device before reading the clock.

The peer checkout needs its three `.view(` calls on non-contiguous tensors changed to
`.reshape(` to run under torch 2 (the copy in ../shared/peers/real-nvp has that change).
A benchmark, not a test: nothing in the test suite depends on it.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
import results  # noqa: E402  (bench/results.py: --record writes RESULTS.md)

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {  # name: (in_channels, image_size, num_scales, hidden_channels, num_blocks, batch)
    "mnist": (1, 28, 2, 32, 4, 64),
    "paper": (3, 32, 2, 64, 8, 64),
}


def build(impl: str, config: str, peer_dir: str | None, device: str = "cpu"):
    import torch

    channels, size, scales, hidden, blocks, batch = CONFIGS[config]
    torch.manual_seed(0)
    if impl.startswith("ours"):
        sys.path.insert(0, str(ROOT))
        from realnvp import RealNVP
        from realnvp.precision import fast_dtype, fast_sampling_dtype

        model = RealNVP(in_channels=channels, image_size=size, num_scales=scales, hidden_channels=hidden,
                        num_blocks=blocks)
        model.to(device)
        if impl == "ours":  # the shipped defaults: bf16 s/t convolutions where the machine runs bf16 natively
            model.set_autocast(fast_dtype(device))
            model.sampling_dtype = fast_sampling_dtype(device)
            if torch.device(device).type == "cuda":  # as the trainer does on a GPU
                model.to(memory_format=torch.channels_last)
        def loss(x):
            return -model(x).mean()

        def sample(n):
            return model.sample(n)
    else:
        sys.path.insert(0, str(Path(peer_dir).resolve()))
        from models import RealNVP as PeerRealNVP
        from models import RealNVPLoss

        model = PeerRealNVP(num_scales=scales, in_channels=channels, mid_channels=hidden, num_blocks=blocks).to(device)
        loss_fn = RealNVPLoss()

        def loss(x):
            z, sldj = model(x, reverse=False)
            return loss_fn(z, sldj)

        @torch.no_grad()
        def sample(n):
            z = torch.randn(n, channels, size, size, device=device)
            return torch.sigmoid(model(z, reverse=True)[0])
    return model, loss, sample, (batch, channels, size, size)


def worker(impl: str, task: str, config: str, peer_dir: str | None, repeats: int, device: str = "cpu") -> dict:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    model, loss, sample, shape = build(impl, config, peer_dir, device)
    x = ((torch.randint(0, 256, shape).float() + torch.rand(shape)) / 256).to(device)
    if impl == "ours" and torch.device(device).type == "cuda":
        x = x.contiguous(memory_format=torch.channels_last)

    def synchronize():
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize(device)
    if task == "train":
        model.train()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)

        def step():
            value = loss(x)
            optimizer.zero_grad(set_to_none=True)
            value.backward()
            optimizer.step()
    else:
        model.eval()

        def step():
            with torch.no_grad():
                sample(shape[0])
    with FlopCounterMode(display=False) as counter:
        step()
    flops = counter.get_total_flops()
    for _ in range(2):
        step()
    synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    synchronize()
    seconds = (time.perf_counter() - start) / repeats
    return {"img_s": shape[0] / seconds, "gflops": flops / seconds / 1e9}


def measure(impl, task, config, args) -> dict:
    command = [sys.executable, __file__, "--worker", impl, task, config, "--repeats", str(args.repeats),
               "--threads", str(args.threads), "--device", args.device]
    if args.peer_dir:
        command += ["--peer-dir", args.peer_dir]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peer-dir", default=str(ROOT.parent / "shared" / "peers" / "real-nvp"))
    parser.add_argument("--configs", default="mnist,paper")
    parser.add_argument("--tasks", default="train,sample")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved measurements per cell (median)")
    parser.add_argument("--repeats", type=int, default=5, help="timed steps per measurement")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--worker", nargs=3, metavar=("IMPL", "TASK", "CONFIG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    if args.worker:
        impl, task, config = args.worker
        print(json.dumps(worker(impl, task, config, args.peer_dir, args.repeats, args.device)))
        return
    if not (Path(args.peer_dir) / "models").is_dir():
        sys.exit(f"--peer-dir {args.peer_dir}: not a checkout of chrischute/real-nvp (no models/ folder)")
    machine = (f"{torch.cuda.get_device_name(args.device)} ({cpu_name()}, {args.threads} threads)"
               if args.device.startswith("cuda") else f"{cpu_name()}, {args.threads} threads")
    print(f"{machine}; torch {torch.__version__}; batch 64; "
          f"median of {args.rounds} interleaved processes x {args.repeats} steps")
    print("| config | task | ours img/s | ours float32 img/s | peer img/s | ours / peer | float32 / peer | "
          "nominal GFLOP/s (ours / float32 / peer) |")
    print("|---|---|---|---|---|---|---|---|")
    for config in args.configs.split(","):
        for task in args.tasks.split(","):
            results = {"ours": [], "ours-fp32": [], "peer": []}
            for _ in range(args.rounds):
                for impl in results:
                    results[impl].append(measure(impl, task, config, args))
            med = {impl: {k: statistics.median(r[k] for r in rs) for k in ("img_s", "gflops")}
                   for impl, rs in results.items()}
            ours, fp32, peer = med["ours"], med["ours-fp32"], med["peer"]
            print(f"| {config} | {task} | {ours['img_s']:.1f} | {fp32['img_s']:.1f} | {peer['img_s']:.1f} | "
                  f"**{ours['img_s'] / peer['img_s']:.2f}x** | {fp32['img_s'] / peer['img_s']:.2f}x | "
                  f"{ours['gflops']:.0f} / {fp32['gflops']:.0f} / {peer['gflops']:.0f} |", flush=True)


if __name__ == "__main__":
    sys.exit(results.run_recorded('Against chrischute/real-nvp', main))

"""How the app runs: torch threads per request, the queue, ZeroGPU, and the launch options."""
from __future__ import annotations

import os
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
ON_GPU = torch.cuda.is_available()
QUEUE = dict(max_size=32, default_concurrency_limit=2)
MAX_FILE_SIZE = "10mb"

try:  # ZeroGPU: allocate a GPU for the decorated calls; does nothing elsewhere
    import spaces

    gpu = spaces.GPU
except ImportError:  # pragma: no cover - `spaces` is in requirements.txt
    def gpu(fn=None, **_):
        return fn if fn is not None else (lambda f: f)


def available_cpus() -> int:
    """CPUs this process may use: its affinity mask, capped by a cgroup v2 quota (containers, Spaces)."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            count = min(count, max(1, int(int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return count


def cpu_threads() -> int:
    """Torch threads per request on CPU: the CPUs shared among the concurrent requests (more threads than
    cores makes every request slower; on a busy 2-core machine 1 thread was 8-25x faster than 2).
    `REALNVP_NUM_THREADS` overrides."""
    if os.environ.get("REALNVP_NUM_THREADS"):
        return max(1, int(os.environ["REALNVP_NUM_THREADS"]))
    return max(1, available_cpus() // QUEUE["default_concurrency_limit"])


def configure_threads() -> None:
    """Give torch `cpu_threads()` threads (on CPU only); called once by app.py before serving."""
    if not ON_GPU:
        torch.set_num_threads(cpu_threads())


def launch_options(**look) -> dict:
    """Arguments of `demo.launch` besides the page's look (`css`, `theme`); tests add their own host
    and port, a Space sets them by environment."""
    return dict(max_file_size=MAX_FILE_SIZE, allowed_paths=[str(ASSETS)], **look)

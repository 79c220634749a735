"""How the app runs: torch threads per request, the queue, memory bounds, ZeroGPU, and the launch options.

Queue. Every event that runs a model shares one concurrency group, `MODEL_QUEUE`, of
`MODEL_CONCURRENCY` (2) requests at a time (`compute`). A request that finds explorer.threads' wide
thread free runs there with the CPUs' share of the requests then running (every CPU alone); one that
starts while the wide thread is busy runs single-threaded on a narrow thread (which keeps GNU OpenMP
from sleeping between parallel regions). Gradio's limits are
otherwise per event: a dozen events at two each let two dozen requests share two cores. The others
wait in one line, and the page shows each its position; `QUEUE["max_size"]` waiting requests at
most, then "queue full". Events that only pick an example or switch the model stay out of the group
(a slow Hub download must not hold a compute slot); the completions (long) share a second group of
1, so they never take every slot. Why two at once with one thread each rather than one at a time
with two threads: a second thread speeds a batch-of-one request up only a little, so two requests
side by side get more done; a request that finds the machine idle still gets every core. The
figures (bench/soak.py with and without `REALNVP_CONCURRENCY=1`) are in bench/RESULTS.md, the
reasoning in docs/serving.md.

Memory (issue #11; bench/soak.py measures it). What grew under load, and its bound here:
- Gradio keeps every session's copy of the page's configuration for `state_session_capacity`
  sessions, 10,000 by default (gigabytes for this page): each page load, each REST call
  and each new API client is a session. `MAX_SESSIONS` here (least recently used out first; the app
  keeps no `gr.State` and its updated menus accept any value, so a forgotten session loses nothing).
- oneDNN caches a convolution primitive per input shape (each image size at "own" resolution, each
  number of samples): 1,024 by default; `ONEDNN_CACHE` here.
- glibc gives threads their own malloc arenas (up to 8 per core) and returns freed memory to the
  system only from the top of a heap, so tensors freed by Gradio's worker threads stayed resident:
  `MALLOC_ARENAS` arenas, and `malloc_trim` every `TRIM_SECONDS`.
- Models: explorer.registry keeps 8 at most; uploads: explorer.images decodes them reduced, 40
  megapixels at most. Result files are on disk, deleted by age (`delete_cache` on the Blocks).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import socket
import threading
import time
from pathlib import Path

import torch

from .threads import ComputeThreads

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
ON_GPU = torch.cuda.is_available()
MAX_FILE_SIZE = "10mb"

MODEL_QUEUE = "model"  # the concurrency group of every event that runs a model
MODEL_CONCURRENCY = 2  # requests of that group at a time (`REALNVP_CONCURRENCY` overrides)
QUEUE = dict(max_size=32, default_concurrency_limit=MODEL_CONCURRENCY)
MODEL_PICKER = "model"  # elem_id of the model menu: an event runs a model only if the menu is one of its inputs
# events that read the menu but run no model (an example picked, the model switched) stay out of the group
LIGHT_EVENTS = ("pick_", "select_model", "model_info")

MAX_SESSIONS = 100  # Gradio sessions kept in memory (its default, 10,000, is about 4 GiB for this page)
ONEDNN_CACHE = 128  # oneDNN primitives cached (one per convolution and input shape; default 1,024)
MALLOC_ARENAS = 2  # glibc malloc arenas (default 8 per core)
TRIM_SECONDS = 10.0  # how often freed heap memory goes back to the system (glibc malloc_trim)

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


def model_concurrency() -> int:
    """Model requests served at a time: MODEL_CONCURRENCY, or `REALNVP_CONCURRENCY`."""
    value = os.environ.get("REALNVP_CONCURRENCY")
    return max(1, int(value)) if value else MODEL_CONCURRENCY


def cpu_threads(running: int | None = None) -> int:
    """Torch threads for a request on CPU: the CPUs shared among `running` requests (default: as many
    as may run at once). More threads than cores makes every request much slower.
    `REALNVP_NUM_THREADS` overrides."""
    if os.environ.get("REALNVP_NUM_THREADS"):
        return max(1, int(os.environ["REALNVP_NUM_THREADS"]))
    return max(1, available_cpus() // (model_concurrency() if running is None else max(1, running)))


def configure_threads() -> None:
    """One torch thread for the calling (main) thread, on CPU: requests run their model work on
    explorer.threads' threads, and only the wide one of those may run several (see that module)."""
    if not ON_GPU:
        torch.set_num_threads(1)


_compute_threads: ComputeThreads | None = None
_compute_threads_lock = threading.Lock()


def compute_threads() -> ComputeThreads:
    """The process's ComputeThreads (created on first use), sharing the CPUs by `cpu_threads`."""
    global _compute_threads
    with _compute_threads_lock:
        if _compute_threads is None:
            _compute_threads = ComputeThreads(cpu_threads)
        return _compute_threads


def compute(fn=None, **gpu_options):
    """Decorator of every handler that runs a model: ZeroGPU's allocation where there is one (`gpu`,
    with its options), and on CPU a thread of explorer.threads: the wide one with the CPUs' share of
    the running requests when it is free (all of them alone), else a single-threaded narrow one."""
    if fn is None:
        return lambda f: compute(f, **gpu_options)
    allocated = gpu(**gpu_options)(fn) if gpu_options else gpu(fn)

    @functools.wraps(fn)
    def run(*args, **kwargs):
        if ON_GPU:
            return allocated(*args, **kwargs)
        return compute_threads().run(allocated, *args, **kwargs)

    return run


# ----------------------------------------------------------------------------- memory
_trimmer: threading.Thread | None = None


def glibc():
    """The C library when it is glibc (it has mallopt and malloc_trim), else None (macOS, musl)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None
    except OSError:
        return None


def configure_memory() -> None:
    """Bound what grows with the variety of requests (see the module docstring). Called once by the app
    before it serves; settings given in the environment (MALLOC_ARENA_MAX,
    ONEDNN_PRIMITIVE_CACHE_CAPACITY) win."""
    global _trimmer
    # read by oneDNN when it creates its first primitive: before the app serves any request
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", str(ONEDNN_CACHE))
    libc = glibc()
    if libc is None:
        return
    if "MALLOC_ARENA_MAX" not in os.environ:
        libc.mallopt(-8, MALLOC_ARENAS)  # M_ARENA_MAX: applies to the arenas created from now on
    if _trimmer is None:
        _trimmer = threading.Thread(target=_trim_forever, args=(libc, TRIM_SECONDS), name="malloc-trim",
                                    daemon=True)
        _trimmer.start()


def _trim_forever(libc, seconds: float) -> None:
    while True:
        time.sleep(seconds)
        libc.malloc_trim(0)  # ctypes releases the GIL meanwhile


def configure_process() -> None:
    """Threads and memory, once, before the page is built."""
    configure_threads()
    configure_memory()


# ----------------------------------------------------------------------------- queue
def share_queue(demo, limit: int | None = None) -> None:
    """Put every event of `demo` that may run a model into the `MODEL_QUEUE` group of `limit` requests
    (default `model_concurrency()`). Events with a lower limit of their own (the completions: 1) share
    a second group, `MODEL_QUEUE`-long, with the lowest of those limits: long requests never take every
    slot, and at most `limit` + that many requests run at once."""
    limit = model_concurrency() if limit is None else limit
    picker = next((b for b in demo.blocks.values() if getattr(b, "elem_id", None) == MODEL_PICKER), None)
    for fn in demo.fns.values():
        name = fn.api_name or ""
        reads_model = picker is None or any(block is picker for block in fn.inputs)
        if not fn.queue or not reads_model or name.startswith(LIGHT_EVENTS):
            continue
        own = fn.concurrency_limit
        if isinstance(own, int) and own < limit:
            fn.concurrency_id = f"{MODEL_QUEUE}-long"  # Gradio applies the group's lowest limit
        else:
            fn.concurrency_id, fn.concurrency_limit = MODEL_QUEUE, limit


def launch_options(extra_paths=(), **look) -> dict:
    """Arguments of `demo.launch` besides the page's look (`css`, `theme`); tests add their own host
    and port, a Space sets them by environment. Files are served from the bundled assets and from
    `extra_paths` (directories)."""
    return dict(max_file_size=MAX_FILE_SIZE, allowed_paths=[str(ASSETS), *map(str, extra_paths)],
                state_session_capacity=MAX_SESSIONS, **look)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on `host` now, to launch the app on (tests and benchmarks)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]

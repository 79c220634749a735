"""Which OS thread runs a request's torch work on CPU, and with how many OpenMP threads.

GNU OpenMP (the runtime of torch's Linux wheels) keeps a team of worker threads for every thread
that has run a parallel region, and counts them all. Once the teams together hold more threads than
the process has CPUs, every team stops spinning between parallel regions and sleeps on a futex
instead (libgomp throttles GOMP_SPINCOUNT from 300,000 to 100). Gradio runs each handler on whichever
of AnyIO's worker threads is free, so after a few requests several threads had a team of two on two
cores, and every request paid the wake-up of a sleeping thread at each of its thousands of small
parallel regions, which made a completion step in the app nearly twice as slow as in a plain
script (OMP_WAIT_POLICY=passive reproduces it in a script; docs/serving.md has the story).

So the model work of a request runs here instead: on the one `wide` thread, the only thread that ever
runs more than one OpenMP thread, when it is free, with the CPUs' share of the requests running as it
starts (all of them alone); a request that starts while the wide thread is busy runs on a `narrow`
thread, always single-threaded (no team). The teams then never hold more threads than the CPUs.
The wide thread's count goes to OpenMP directly: `torch.set_num_threads` would also change the default
that each thread not yet initialized takes at its first parallel region (a Gradio worker loading a
model, say), which stays 1.
"""
from __future__ import annotations

import concurrent.futures
import contextvars
import ctypes
import threading
from typing import Callable

import torch


def _libgomp():
    """GNU OpenMP as loaded by torch, or None (another OpenMP runtime, or none)."""
    try:
        lib = ctypes.CDLL("libgomp.so.1")
        lib.omp_get_max_threads()
        return lib
    except (OSError, AttributeError):
        return None


_OPENMP = _libgomp()


def set_request_threads(count: int) -> None:
    """`count` OpenMP threads for the calling thread's next parallel regions, leaving the default of
    new threads alone where torch runs on GNU OpenMP (elsewhere: torch.set_num_threads)."""
    torch.get_num_threads()  # torch's per-thread initialization first: it would reset the count later
    if _OPENMP is not None:
        _OPENMP.omp_set_num_threads(int(count))
    else:
        torch.set_num_threads(count)


class ComputeThreads:
    """Runs callables on the wide thread when it is free (with `share(running)` threads), else on a
    single-threaded narrow thread; in both cases in the caller's context (Gradio's progress and
    request live in context variables), returning the result or raising the error."""

    def __init__(self, share: Callable[[int], int]):
        self._share = share
        self._lock = threading.Lock()
        self.running = 0
        self._wide_busy = False
        self._wide = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="torch-wide")
        self._narrow = concurrent.futures.ThreadPoolExecutor(32, thread_name_prefix="torch-narrow")

    def run(self, fn: Callable, *args, **kwargs):
        with self._lock:
            self.running += 1
            wide = not self._wide_busy
            self._wide_busy = True
            threads = self._share(self.running) if wide else 1
        try:
            pool = self._wide if wide else self._narrow
            return pool.submit(contextvars.copy_context().run, _with_threads, threads, fn, args, kwargs).result()
        finally:
            with self._lock:
                self.running -= 1
                if wide:
                    self._wide_busy = False


def _with_threads(threads: int, fn: Callable, args, kwargs):
    set_request_threads(threads)
    return fn(*args, **kwargs)

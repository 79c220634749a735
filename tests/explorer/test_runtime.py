"""explorer.runtime: one queue for every event that runs a model, and the memory bounds (issue #11)."""
import os

from app_env import import_app

from explorer import runtime


def test_events_that_run_a_model_share_one_queue():
    app = import_app()
    groups = {}
    for fn in app.demo.fns.values():
        groups.setdefault((fn.concurrency_id, fn.concurrency_limit), set()).add(fn.api_name)
    model = groups[(runtime.MODEL_QUEUE, runtime.MODEL_CONCURRENCY)]
    assert {"sample", "manifold", "interpolate", "per_scale", "likelihood", "erase_preview"} <= model
    assert {"complete", "completions"} <= groups[(f"{runtime.MODEL_QUEUE}-long", 1)]
    light = {name for (group, _), names in groups.items() if not group.startswith(runtime.MODEL_QUEUE)
             for name in names}
    assert {"select_model", "model_info", "pick_corner"} <= light
    assert not light & model


def test_memory_bounds_are_set():
    assert runtime.launch_options()["state_session_capacity"] == runtime.MAX_SESSIONS == 100
    runtime.configure_memory()  # once more: nothing changes, one trimming thread
    assert os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"]
    if runtime.glibc() is not None:
        assert runtime._trimmer is not None and runtime._trimmer.is_alive()


def test_threads_follow_the_concurrency(monkeypatch):
    monkeypatch.delenv("REALNVP_NUM_THREADS", raising=False)
    monkeypatch.setenv("REALNVP_CONCURRENCY", "1")
    assert runtime.model_concurrency() == 1 and runtime.cpu_threads() == runtime.available_cpus()
    monkeypatch.setenv("REALNVP_NUM_THREADS", "3")
    assert runtime.cpu_threads() == 3


def test_a_request_alone_gets_every_cpu_on_the_wide_thread_and_beside_another_one(monkeypatch):
    import threading

    import torch

    monkeypatch.delenv("REALNVP_NUM_THREADS", raising=False)
    monkeypatch.setattr(runtime, "available_cpus", lambda: 4)
    monkeypatch.setattr(runtime, "ON_GPU", False)
    monkeypatch.setattr(runtime, "_compute_threads", None)  # a fresh set of threads for this test
    seen, inside, release = {}, threading.Barrier(3), threading.Event()

    @runtime.compute
    def alone():
        return threading.current_thread().name, torch.get_num_threads()

    @runtime.compute
    def held(name):
        start = torch.get_num_threads()
        inside.wait(timeout=10)  # both requests are running now
        seen[name] = (threading.current_thread().name, start, torch.get_num_threads())
        release.wait(timeout=10)

    def from_new_thread(fn):
        out = []
        caller = threading.Thread(target=lambda: out.append(fn()))
        caller.start(), caller.join()
        return out[0]

    # whichever thread the server calls from, a request alone runs on the one wide thread with every CPU
    alone_runs = {from_new_thread(alone) for _ in range(3)}
    assert len(alone_runs) == 1
    wide_name, wide_threads = alone_runs.pop()
    assert wide_name.startswith("torch-wide") and wide_threads == 4
    first = threading.Thread(target=held, args=("first",))
    first.start()
    while runtime.compute_threads().running == 0:
        pass
    second = threading.Thread(target=held, args=("second",))  # starts while the first one runs
    second.start()
    inside.wait(timeout=10)
    release.set()
    first.join(), second.join()
    assert seen["first"] == (wide_name, 4, 4)
    name, *counts = seen["second"]  # beside it: single-threaded, on another thread, the wide one left at 4
    assert name.startswith("torch-narrow") and counts == [1, 1]
    assert from_new_thread(alone) == (wide_name, 4) and runtime.compute_threads().running == 0
    assert runtime.compute(duration=60)(lambda: 7)() == 7  # ZeroGPU's options pass through


def test_a_request_runs_in_the_callers_context_and_raises_its_errors(monkeypatch):
    import contextvars

    import pytest

    monkeypatch.setattr(runtime, "ON_GPU", False)
    event = contextvars.ContextVar("event")  # Gradio keeps the request and its progress bar in these
    event.set("request 1")

    @runtime.compute
    def read():
        return event.get()

    @runtime.compute
    def fail():
        raise ValueError("bad input")

    assert read() == "request 1"
    with pytest.raises(ValueError, match="bad input"):
        fail()
    assert runtime.compute_threads().running == 0


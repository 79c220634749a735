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


def test_a_request_takes_every_cpu_alone_and_its_share_beside_others(monkeypatch):
    import threading

    import torch

    monkeypatch.delenv("REALNVP_NUM_THREADS", raising=False)
    monkeypatch.setattr(runtime, "available_cpus", lambda: 4)
    monkeypatch.setattr(runtime, "ON_GPU", False)
    seen, inside, release = {}, threading.Barrier(3), threading.Event()

    @runtime.compute
    def alone():
        return torch.get_num_threads()

    @runtime.compute
    def held(name):
        start = torch.get_num_threads()
        inside.wait(timeout=10)  # both requests are running now
        seen[name] = (start, torch.get_num_threads())
        release.wait(timeout=10)

    before = torch.get_num_threads()
    try:
        assert alone() == 4 and runtime._running == 0
        first = threading.Thread(target=held, args=("first",))
        first.start()
        while runtime._running == 0:
            pass
        second = threading.Thread(target=held, args=("second",))  # starts while the first one runs
        second.start()
        inside.wait(timeout=10)
        release.set()
        first.join(), second.join()
        # torch's thread count is per calling thread: the second request's 2 left the first one's 4 alone
        assert seen == {"first": (4, 4), "second": (2, 2)} and runtime._running == 0
        assert runtime.compute(duration=60)(lambda: 7)() == 7  # ZeroGPU's options pass through
    finally:
        torch.set_num_threads(before)

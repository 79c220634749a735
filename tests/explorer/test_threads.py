"""explorer.threads: a request runs on the one wide thread when it is free, with `share(running)`
OpenMP threads, else single-threaded on a narrow thread; in the caller's context, with its result
or its error, and the bookkeeping (requests running, the wide thread busy) always undone."""
import contextvars
import threading

import pytest
import torch

from explorer import threads
from explorer.threads import ComputeThreads


def where_and_how_many():
    return threading.current_thread().name, torch.get_num_threads()


def test_a_request_alone_runs_on_the_wide_thread_with_its_share():
    shares = []
    pool = ComputeThreads(lambda running: shares.append(running) or 3)
    for _ in range(3):  # one after the other: each finds the wide thread free, alone
        name, count = pool.run(where_and_how_many)
        assert name.startswith("torch-wide") and count == 3
    assert shares == [1, 1, 1] and pool.running == 0


def test_requests_beside_a_busy_wide_thread_run_single_threaded_on_narrow_threads():
    shares = []
    pool = ComputeThreads(lambda running: shares.append(running) or 2)
    started, recorded = threading.Barrier(4), threading.Barrier(4)  # the three requests and this thread
    seen, lock = [], threading.Lock()

    def held():
        started.wait(timeout=10)  # every request is running at once
        with lock:
            seen.append((*where_and_how_many(), pool.running))
        recorded.wait(timeout=10)  # none ends before all have looked

    first = threading.Thread(target=pool.run, args=(held,))
    first.start()
    while pool.running == 0:  # the first request holds the wide thread
        pass
    others = [threading.Thread(target=pool.run, args=(held,)) for _ in range(2)]
    for thread in others:
        thread.start()
    started.wait(timeout=10)
    recorded.wait(timeout=10)
    for thread in [first, *others]:
        thread.join(timeout=10)
    wide = [entry for entry in seen if entry[0].startswith("torch-wide")]
    narrow = [entry for entry in seen if entry[0].startswith("torch-narrow")]
    assert len(wide) == 1 and len(narrow) == 2  # never two requests on the wide thread
    assert wide[0][1] == 2 and all(count == 1 for _, count, _ in narrow)
    assert all(running == 3 for *_, running in seen)
    assert shares == [1]  # only the wide request asks for a share, with itself alone running
    assert pool.running == 0 and pool.run(where_and_how_many)[0].startswith("torch-wide")  # free again


def test_the_callers_context_the_result_and_the_error_come_through():
    pool = ComputeThreads(lambda running: 1)
    request = contextvars.ContextVar("request")  # Gradio keeps the request and its progress in these
    request.set("mine")
    assert pool.run(lambda suffix: request.get() + suffix, "!") == "mine!"

    def fail():
        raise KeyError("bad")

    with pytest.raises(KeyError, match="bad"):
        pool.run(fail)
    assert pool.running == 0
    assert pool.run(where_and_how_many)[0].startswith("torch-wide")  # an error leaves the wide thread free


def test_the_wide_threads_count_leaves_new_threads_default_alone():
    if threads._OPENMP is None:
        pytest.skip("torch does not run on GNU OpenMP here")

    def counts(fn=None):
        out = []

        def body():
            if fn is not None:
                fn()
            out.append(torch.get_num_threads())

        caller = threading.Thread(target=body)
        caller.start(), caller.join()
        return out[0]

    default = counts()
    assert counts(lambda: threads.set_request_threads(default + 2)) == default + 2
    assert counts() == default  # torch.set_num_threads would have made it default + 2

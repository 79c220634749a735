"""explorer.space: what app.py, `python -m explorer` and `realnvp-explorer` run. Importing it does
nothing; `build_demo` configures the process, logs what the registry found wrong, builds the page,
puts the model events in one queue and starts the Hub downloads, in that order; `main` launches it."""
import importlib.util
import logging
import types

import gradio as gr

import explorer
from explorer import layout, runtime, space


class FakeRegistry:
    warnings = ["models.json: ignoring 'x'"]

    def __init__(self, calls):
        self.calls = calls

    def unavailable(self):
        return ["owner/gone: not cached"]

    def prefetch(self):
        self.calls.append("prefetch")

    def hub_cache_folders(self):
        return ["/cache/models--owner--flow"]


def record_the_steps(monkeypatch, calls):
    registry = FakeRegistry(calls)
    demo = types.SimpleNamespace(name="the page")
    monkeypatch.setattr(runtime, "configure_process", lambda: calls.append("configure"))
    monkeypatch.setattr(layout, "build_page", lambda: calls.append("page") or demo)
    monkeypatch.setattr(runtime, "share_queue", lambda built: calls.append(("queue", built.name)))
    monkeypatch.setattr(space, "app_registry", lambda: registry)
    return demo


def test_importing_the_module_builds_and_configures_nothing(monkeypatch):
    calls = []
    record_the_steps(monkeypatch, calls)
    monkeypatch.setattr("explorer.registry.app_registry", lambda: calls.append("registry"))
    original = gr.Blocks.__init__
    monkeypatch.setattr(gr.Blocks, "__init__", lambda self, *a, **k: calls.append("blocks") or original(self, *a, **k))
    spec = importlib.util.spec_from_file_location("explorer._space_imported_again", space.__file__)
    fresh = importlib.util.module_from_spec(spec)
    fresh.__package__ = explorer.__name__
    spec.loader.exec_module(fresh)  # a second import of the same file, as a program starting would do it
    assert calls == [] and callable(fresh.build_demo) and fresh.QUEUE == runtime.QUEUE


def test_build_demo_configures_logs_builds_queues_then_prefetches(monkeypatch, caplog):
    calls = []
    demo = record_the_steps(monkeypatch, calls)
    with caplog.at_level(logging.WARNING, logger="realnvp.app"):
        assert space.build_demo() is demo
    assert calls == ["configure", "page", ("queue", "the page"), "prefetch"]
    assert [r.getMessage() for r in caplog.records] == ["models.json: ignoring 'x'", "owner/gone: not cached"]


def test_launch_options_and_main(monkeypatch):
    calls = []
    record_the_steps(monkeypatch, calls)
    options = space.launch_options()
    assert options["css"] == layout.CSS and isinstance(options["theme"], gr.themes.Soft)
    assert options["allowed_paths"] == [str(runtime.ASSETS), "/cache/models--owner--flow"]  # assets and Hub models
    assert options["max_file_size"] == runtime.MAX_FILE_SIZE
    assert options["state_session_capacity"] == runtime.MAX_SESSIONS
    launched = []
    queued = types.SimpleNamespace(launch=lambda **kwargs: launched.append(kwargs))
    demo = types.SimpleNamespace(name="the page", queue=lambda **kwargs: launched.append(kwargs) or queued)
    monkeypatch.setattr(layout, "build_page", lambda: demo)
    space.main()
    assert launched[0] == space.QUEUE == runtime.QUEUE
    assert launched[1].keys() == options.keys() and launched[1]["allowed_paths"] == options["allowed_paths"]

"""The page and how it is launched: what app.py (the Space's entry point), `python -m explorer` and
the `realnvp-explorer` command run. Nothing happens at import: `build_demo` builds the page (and
configures the process for serving), `main` builds and launches it."""
from __future__ import annotations

import logging

import gradio as gr

from . import layout, runtime
from .registry import app_registry

QUEUE = runtime.QUEUE

log = logging.getLogger("realnvp.app")


def build_demo() -> gr.Blocks:
    """The whole page over the app's registry, its model events in one queue. Configures torch
    threads and memory bounds for serving first (runtime's docstring), and logs what the registry
    found wrong or unavailable (a Space shows these in its logs)."""
    runtime.configure_process()
    registry = app_registry()
    for warning in registry.warnings + registry.unavailable():
        log.warning(warning)
    demo = layout.build_page()
    runtime.share_queue(demo)  # one queue for every event that runs a model
    registry.prefetch()  # the Hub models download in the background (a Space: at each start)
    return demo


def launch_options() -> dict:
    """Arguments of `demo.launch` (tests add their own host and port; a Space sets them by env).
    Files may be served from the bundled assets and from the Hub models' folders in the local
    Hugging Face cache (their example images), nothing else of that cache."""
    return runtime.launch_options(css=layout.CSS, theme=layout.theme(),
                                  extra_paths=app_registry().hub_cache_folders())


def main() -> None:
    build_demo().queue(**QUEUE).launch(**launch_options())

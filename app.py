"""Real NVP explorer: the Gradio app (also a Hugging Face Space) over the realnvp library.

This file only builds the page and launches it; the app itself is the `explorer` package
(handlers, validation, layout, model registry, images, figures, result files, runtime).
"""
from __future__ import annotations

import logging

from explorer import layout, runtime
from explorer.registry import app_registry

QUEUE = runtime.QUEUE

log = logging.getLogger("realnvp.app")


def launch_options() -> dict:
    """Arguments of `demo.launch` (tests add their own host and port; a Space sets them by env)."""
    return runtime.launch_options(css=layout.CSS, theme=layout.theme())


runtime.configure_threads()
for warning in app_registry().warnings:
    log.warning(warning)
demo = layout.build_page()

if __name__ == "__main__":
    demo.queue(**QUEUE).launch(**launch_options())

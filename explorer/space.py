"""The page, built once, and how it is launched: what app.py (the Space's entry point),
`python -m explorer` and the `realnvp-explorer` command run."""
from __future__ import annotations

import logging

from . import layout, runtime
from .registry import app_registry

QUEUE = runtime.QUEUE

log = logging.getLogger("realnvp.app")


def launch_options() -> dict:
    """Arguments of `demo.launch` (tests add their own host and port; a Space sets them by env)."""
    return runtime.launch_options(css=layout.CSS, theme=layout.theme())


runtime.configure_process()  # torch threads; memory bounds (runtime's docstring)
for warning in app_registry().warnings:
    log.warning(warning)
demo = layout.build_page()
runtime.share_queue(demo)  # one queue for every event that runs a model


def main() -> None:
    demo.queue(**QUEUE).launch(**launch_options())

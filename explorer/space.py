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


runtime.configure_threads()
for warning in app_registry().warnings:
    log.warning(warning)
demo = layout.build_page()


def main() -> None:
    demo.queue(**QUEUE).launch(**launch_options())

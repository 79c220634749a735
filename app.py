"""Real NVP explorer: the Gradio app (also a Hugging Face Space) over the realnvp library.

This file only launches; the app itself is the `explorer` package (handlers, validation,
layout, model registry, images, figures, result files, runtime), built in explorer/space.py.
"""
from explorer.space import QUEUE, demo, launch_options, main

__all__ = ["QUEUE", "demo", "launch_options", "main"]

if __name__ == "__main__":
    main()

"""Real NVP explorer: the Gradio app (also a Hugging Face Space: a Space runs `python app.py`) over
the realnvp library.

This file only launches; the app itself is the `explorer` package (handlers, validation, layout,
model registry, images, figures, result files, runtime), built by explorer.space.build_demo.
"""
from explorer.space import QUEUE, build_demo, launch_options, main

__all__ = ["QUEUE", "build_demo", "launch_options", "main"]

if __name__ == "__main__":
    main()

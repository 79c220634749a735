"""The Real NVP explorer app (a Gradio Space) over the `realnvp` library.

registry (models by name), images (uploads in, pictures out), figures (matplotlib), results
(result files), validation (request checks), handlers (the API's events), widgets and layout
(the page), runtime (threads, queue, launch options). `app.py` builds the page and launches it.
"""

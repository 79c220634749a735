"""The app's events, one module per tab: each handler checks its inputs (validation), calls the
library (realnvp), and turns the tensors into pictures, figures and result files. Their names and
parameters are the API (`/sample`, `/manifold`, ...), so they stay as they are.

Every handler runs under `user_errors`: a failure is a short message on the page, never a trace.
"""
from __future__ import annotations

from .classification import NEEDS_CLASSES, classify
from .common import picked_example, suggestion
from .completion import (MAX_COMPLETIONS, MAX_LANGEVIN_STEPS, brush_canvas, complete, completions,
                         erase_preview)
from .interpolation import animate, fill_corner, interpolate, manifold
from .layers import TABLE_HEADERS as LAYER_TABLE_HEADERS
from .layers import layers
from .likelihoods import SIZE_HEADERS, likelihood
from .models import describe, model_info_endpoint
from .out_of_distribution import ood, ood_choices
from .sampling import sample
from .scales import fill_pair, mix_scales, per_scale

__all__ = [
    "NEEDS_CLASSES", "MAX_COMPLETIONS", "MAX_LANGEVIN_STEPS", "SIZE_HEADERS", "LAYER_TABLE_HEADERS", "animate",
    "brush_canvas", "classify", "complete", "completions", "describe", "erase_preview", "fill_corner", "fill_pair",
    "interpolate", "layers", "likelihood", "manifold", "mix_scales", "model_info_endpoint", "ood", "ood_choices",
    "per_scale", "picked_example", "sample", "suggestion",
]

"""The page: a model picker over eight tabs (Sample, Interpolate with walk animations, Per-scale
reconstruction, Mix scales, Likelihood, Complete with a brush and sampled completions, Classify,
Out-of-distribution), controls on the left and results on the right, each button wired to its
handler under its `api_name`. controls (the parts tabs are built from), tabs (the eight tabs),
page (the page and what follows the model picker)."""
from __future__ import annotations

from .page import CSS, build_page, theme

__all__ = ["CSS", "build_page", "theme"]

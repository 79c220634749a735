"""realnvp: Real NVP (Dinh, Sohl-Dickstein & Bengio, 2017) in PyTorch.

Conventions: `encode` maps data in [0,1] to latents, `decode` maps latents to data; every
bijection returns `(output, logdet)`; log-likelihoods are in nats, bits/dim at the edges.
"""
from .checkpoint import CheckpointError
from .flow import NonFiniteError
from .model import RealNVP
from .preprocess import bits_per_dim, dequantize

__all__ = ["RealNVP", "CheckpointError", "NonFiniteError", "bits_per_dim", "dequantize"]
__version__ = "0.2.0"  # the one place: pyproject.toml reads it

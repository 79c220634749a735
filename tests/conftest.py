import os

# Tests never touch the network: set before huggingface_hub is imported anywhere.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import pytest  # noqa: E402
import torch  # noqa: E402

from realnvp import RealNVP  # noqa: E402


def randomize_(model: torch.nn.Module, seed: int = 0, std: float = 0.3) -> torch.nn.Module:
    """Give every parameter a random value (the zero-initialised heads make a fresh model's
    couplings the identity, which would let wrong log-dets pass) and move the batch-norm
    running statistics away from their initial values."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g, dtype=p.dtype) * std)
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.randn(b.shape, generator=g, dtype=b.dtype) * 0.2)
            elif name.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=g, dtype=b.dtype) * 0.75 + 0.75)
    return model


def tiny_model(channels=1, size=4, num_scales=2, dtype=torch.float64, seed=0, **kwargs):
    torch.manual_seed(seed)
    kwargs.setdefault("hidden_channels", 4)
    kwargs.setdefault("num_blocks", 1)
    model = RealNVP(in_channels=channels, image_size=size, num_scales=num_scales, **kwargs).to(dtype)
    return randomize_(model, seed).eval()


@pytest.fixture
def make_tiny_model():
    return tiny_model

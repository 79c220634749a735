"""Fixtures of the library's tests."""
import pytest
import torch

from helpers import tiny_model


@pytest.fixture(scope="module")
def model():
    """A small random float64 model of 1x8x8 images, two scales."""
    return tiny_model(1, 8, 2, dtype=torch.float64)


@pytest.fixture
def float64_default():
    """float64 as torch's default dtype for the test (the exactness checks need it), float32 after."""
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(torch.float32)

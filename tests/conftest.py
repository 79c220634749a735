import os

# Tests never touch the network: set before huggingface_hub is imported anywhere.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import pytest  # noqa: E402

from realnvp.checks import randomize_  # noqa: E402,F401  (re-exported for the tests)
from realnvp.checks import random_model as tiny_model  # noqa: E402


@pytest.fixture
def make_tiny_model():
    return tiny_model

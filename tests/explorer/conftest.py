"""Fixtures of the app tests."""
import pytest


@pytest.fixture(scope="module")
def client():
    """A gradio_client Client of app.py's page (tests/app_env.py), started once per test module."""
    from gradio_client import Client

    from app_env import import_app, launch

    app = import_app()
    url = launch(app)
    try:
        yield Client(url, verbose=False)
    finally:
        app.demo.close()

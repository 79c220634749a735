"""Fixtures of the app tests."""
import pytest


@pytest.fixture(scope="session")
def app_url():
    """app.py's page (tests/app_env.py) served in this process on a free port, once for the whole
    session: every module of app tests talks to the same server (the app keeps no per-test state)."""
    from app_env import import_app, launch

    app = import_app()
    url = launch(app)
    try:
        yield url
    finally:
        app.demo.close()


@pytest.fixture(scope="module")
def client(app_url):
    """A gradio_client Client of app.py's page (`app_url`), one per test module."""
    from gradio_client import Client

    # ssl_verify=False: on http:// it only skips building an SSL context for every downloaded file
    return Client(app_url, verbose=False, ssl_verify=False)


@pytest.fixture(scope="module")
def tiny_registry(tmp_path_factory):
    """A registry of tiny random models (tests/tiny_registry.py), built once per test module."""
    from tiny_registry import build_registry

    return build_registry(tmp_path_factory.mktemp("tiny-registry"))


@pytest.fixture
def use_tiny_registry(tiny_registry, monkeypatch):
    """The app's handlers and page use `tiny_registry` in place of app_registry() for the test."""
    from tiny_registry import use_registry

    use_registry(monkeypatch, tiny_registry)
    return tiny_registry

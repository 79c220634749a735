"""The proof that a published Space starts: the staged Space, copied to a fresh directory outside
the checkout, runs `python app.py` as a Space does, offline (HF_HUB_OFFLINE=1), against a Hugging
Face cache that holds the staged model repositories as snapshot_download lays them out (what the
Space downloads from the Hub), then against an empty cache (the Hub unreachable)."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from explorer.runtime import free_port
from hub_cache import cache_repo
from train.hub_staging import ROOT, stage_all

pytestmark = pytest.mark.slow
OWNER = "someone"
DEFAULT = f"{OWNER}/realnvp-mnist"
PHOTOS = f"{OWNER}/realnvp-photos"


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    return stage_all(OWNER, "explorer", tmp_path_factory.mktemp("stage"))


@contextlib.contextmanager
def running_space(space: Path, cache: Path, work: Path):
    """`python app.py` in a copy of the staged Space, on a free port, as a Space runs it (host and
    port from the environment); the system temp directory is elsewhere too, so that the app may serve
    only what it is allowed to. Yields the URL and the log."""
    copy = work / "space"
    shutil.copytree(space, copy)
    assert not copy.resolve().is_relative_to(ROOT) and not cache.resolve().is_relative_to(ROOT)
    (work / "tmp").mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HF_", "HUGGING", "REALNVP_", "GRADIO_")) and k != "PYTHONPATH"}
    env |= {"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache), "HF_HOME": str(work / "hf-home"),
            "TMPDIR": str(work / "tmp"), "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
            "GRADIO_ANALYTICS_ENABLED": "False"}
    log = work / "space.log"
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "app.py"], cwd=copy, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while "Running on local URL" not in log.read_text():
            if process.poll() is not None:
                pytest.fail(f"the staged Space exited with {process.returncode}:\n{log.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"the staged Space did not start in 300 s:\n{log.read_text()}")
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/", log
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def menu(url: str) -> list[str]:
    config = json.loads(urllib.request.urlopen(url + "config", timeout=30).read())
    (picker,) = [c for c in config["components"] if c["props"].get("elem_id") == "model"]
    return [value for _, value in picker["props"]["choices"]]


def served(url: str, path: Path) -> int:
    try:
        return urllib.request.urlopen(f"{url}gradio_api/file={path}", timeout=30).status
    except urllib.error.HTTPError as error:
        return error.code


def sample(client, model):
    return client.predict(model, 4, 0.8, 1, False, "all", False, 1.0, 0.5, api_name="/sample")


def likelihood(client, model, image):
    return client.predict(model, handle_file(str(image)), "auto", "auto", "model", api_name="/likelihood")


def test_the_staged_space_loads_every_model_from_the_hub_cache(staged, tmp_path):
    models, space = staged[:-1], staged[-1]
    cache = tmp_path / "hf-cache"
    snapshots = {repo.repo_id: cache_repo(cache, repo.repo_id, repo.folder) for repo in models}
    (cache / "private.txt").write_text("not a model's file")
    with running_space(space.folder, cache, tmp_path / "run") as (url, log):
        assert menu(url) == [repo.repo_id for repo in models]
        client = Client(url, verbose=False, ssl_verify=False)
        for repo in models:
            info = client.predict(repo.repo_id, api_name="/model_info")
            assert (info["name"], info["requested"], info["source"], info["message"]) == \
                (repo.repo_id, repo.repo_id, "hub", ""), info  # from the cache, not from bundled files
            assert f"([{repo.repo_id}](https://huggingface.co/{repo.repo_id}))" in info["description"]
            assert info["examples"] == sorted(p.name for p in (repo.folder / "examples").iterdir())
            reference = json.loads((repo.folder / "reference.json").read_text())
            assert info["mean_test_bpd"] == pytest.approx(reference["mean_test_bpd"])
        grid, seed, _ = sample(client, DEFAULT)
        assert seed == 1 and Path(grid).stat().st_size > 0
        example = snapshots[PHOTOS] / "examples" / "test_00.png"
        result = likelihood(client, PHOTOS, example)
        assert result[1] > 0 and "bits/dim" in result[4]
        # a colour photo on the greyscale default: the cached colour model is offered, as in the checkout
        assert f"Better suited: the `{PHOTOS}` model" in likelihood(client, DEFAULT, example)[4]
        # the Hub models' example images can be served (the page's galleries); the rest of the cache not
        assert served(url, example) == 200
        assert served(url, cache / "private.txt") == 403
        assert "unavailable" not in log.read_text()


def test_without_the_hub_the_space_starts_on_its_bundled_copy_and_names_what_is_unavailable(staged, tmp_path):
    models, space = staged[:-1], staged[-1]
    cache = tmp_path / "empty-cache"
    cache.mkdir()
    with running_space(space.folder, cache, tmp_path / "run") as (url, log):
        text = log.read_text()
        for repo in models:
            assert f"{repo.repo_id} is unavailable: not in the local Hugging Face cache and HF_HUB_OFFLINE is set" in text
        assert menu(url) == [repo.repo_id for repo in models]
        client = Client(url, verbose=False, ssl_verify=False)
        default = client.predict(DEFAULT, api_name="/model_info")
        assert (default["name"], default["source"]) == (DEFAULT, "bundled")
        assert default["message"].startswith(f"could not reach the Hub for {DEFAULT}: ")
        assert default["message"].endswith("showing its bundled copy instead.")
        assert f"bundled copy of [{DEFAULT}]" in default["description"]
        photos = client.predict(PHOTOS, api_name="/model_info")
        assert (photos["name"], photos["requested"]) == (DEFAULT, PHOTOS)
        assert photos["message"].startswith(f"could not reach the Hub for {PHOTOS}: {PHOTOS} is not in the local cache")
        assert f"showing the bundled model '{DEFAULT}' instead" in photos["message"]
        grid, _, _ = sample(client, DEFAULT)
        assert Path(grid).stat().st_size > 0

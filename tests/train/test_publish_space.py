"""train.publish_space: the one command that publishes the models and the Space. Staging is real;
the Hub is a fake HfApi that records its calls (conftest.py keeps the tests offline)."""
import re

import pytest
from huggingface_hub import constants

from train import publish_space
from train.publish_space import STAGE_MARKER, main

IDS = ["me/realnvp-mnist", "me/realnvp-fashion-mnist", "me/realnvp-mnist-cond", "me/realnvp-photos"]


class FakeHub:
    """The HfApi calls the command makes, recorded; `fail_upload` makes that upload raise."""

    def __init__(self, user="me", whoami_error=None, fail_upload=None):
        self.user, self.whoami_error, self.fail_upload = user, whoami_error, fail_upload
        self.calls = []

    def whoami(self):
        if self.whoami_error:
            raise self.whoami_error
        return {"name": self.user}

    def create_repo(self, repo_id, **options):
        self.calls.append(("create_repo", repo_id, options))

    def upload_folder(self, **options):
        self.calls.append(("upload_folder", options["repo_id"], options))
        if options["repo_id"] == self.fail_upload:
            raise ConnectionError("the Hub went away")


@pytest.fixture
def online_with_token(monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_TOKEN", "hf_fake")


@pytest.fixture
def no_token(monkeypatch, tmp_path):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))


def test_dry_run_stages_and_lists_every_tree_and_uploads_nothing(tmp_path, capsys, no_token):
    hub = FakeHub()
    stage = tmp_path / "stage"
    assert main(["--dry-run", "--owner", "me", "--stage", str(stage)], api=hub) == 0
    out = capsys.readouterr().out
    assert hub.calls == []
    for repo_id in IDS:
        assert f"{repo_id} (model, " in out
    assert "me/realnvp-explorer (space, " in out and "dry run: nothing uploaded" in out
    photos = stage / "models" / "realnvp-photos"
    size = (photos / "model.safetensors").stat().st_size
    assert re.search(rf"^  model\.safetensors +{size:,}$", out, flags=re.M)  # each file with its size
    assert sorted(p.name for p in stage.iterdir()) == [STAGE_MARKER, "models", "space"]
    assert "  app.py " in out and "tests/" not in out and "bench/" not in out
    assert main(["--dry-run", "--stage", str(stage)]) == 0  # its own staging directory is emptied and reused
    assert "note: no --owner given" in capsys.readouterr().err
    assert (stage / "models" / "realnvp-mnist").is_dir()


def test_a_directory_it_did_not_make_is_left_alone(tmp_path, capsys):
    (tmp_path / "mine.txt").write_text("keep me")
    assert main(["--dry-run", "--owner", "me", "--stage", str(tmp_path)]) == 2
    assert "was not made by this command" in capsys.readouterr().err
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def test_without_a_token_it_says_what_is_missing_and_uploads_nothing(tmp_path, capsys, no_token):
    hub = FakeHub()
    assert main(["--stage", str(tmp_path / "stage")], api=hub) == 2
    err = capsys.readouterr().err
    assert "no Hugging Face token" in err and "hf auth login" in err and "HF_TOKEN" in err
    assert "Nothing was uploaded" in err and hub.calls == [] and not (tmp_path / "stage").exists()


def test_offline_it_says_so_and_uploads_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_fake")
    assert constants.HF_HUB_OFFLINE  # conftest.py
    hub = FakeHub()
    assert main(["--stage", str(tmp_path / "stage")], api=hub) == 2
    assert "HF_HUB_OFFLINE is set" in capsys.readouterr().err and hub.calls == []


def test_an_unreachable_hub_or_refused_token_uploads_nothing(tmp_path, capsys, online_with_token):
    hub = FakeHub(whoami_error=ConnectionError("Name or service not known"))
    assert main(["--stage", str(tmp_path / "stage")], api=hub) == 2
    err = capsys.readouterr().err
    assert "could not check the token with the Hub (ConnectionError: Name or service not known)" in err
    assert hub.calls == []


def test_publishes_each_model_then_the_space_as_staged(tmp_path, capsys, online_with_token):
    hub = FakeHub(user="me")
    stage = tmp_path / "stage"
    assert main(["--stage", str(stage)], api=hub) == 0  # the owner is the token's user
    creates = [(repo_id, options) for call, repo_id, options in hub.calls if call == "create_repo"]
    uploads = [options for call, _, options in hub.calls if call == "upload_folder"]
    assert creates == [*((i, {"repo_type": "model", "exist_ok": True}) for i in IDS),
                       ("me/realnvp-explorer", {"repo_type": "space", "exist_ok": True, "space_sdk": "gradio"})]
    assert [(u["repo_id"], u["repo_type"], u["folder_path"]) for u in uploads] == \
        [*((i, "model", str(stage / "models" / i.split("/")[1])) for i in IDS), ("me/realnvp-explorer", "space",
                                                                                 str(stage / "space"))]
    assert all(u["delete_patterns"] == "*" for u in uploads)  # each repository becomes exactly its staged tree
    assert [c[0] for c in hub.calls] == ["create_repo", "upload_folder"] * 5  # each created before its upload
    out = capsys.readouterr().out
    assert "published https://huggingface.co/spaces/me/realnvp-explorer" in out
    assert "done: the Space is https://huggingface.co/spaces/me/realnvp-explorer" in out


def test_a_failed_upload_stops_before_the_space_and_says_to_rerun(tmp_path, capsys, online_with_token):
    hub = FakeHub(fail_upload="someone/realnvp-fashion-mnist")
    assert main(["--owner", "someone", "--space", "flows", "--stage", str(tmp_path / "stage")], api=hub) == 1
    uploaded = [repo_id for call, repo_id, _ in hub.calls if call == "upload_folder"]
    assert uploaded == ["someone/realnvp-mnist", "someone/realnvp-fashion-mnist"]  # not the Space
    err = capsys.readouterr().err
    assert "the upload stopped: ConnectionError: the Hub went away" in err and "Run the command again" in err


def test_the_upload_step_alone(tmp_path):
    hub = FakeHub()
    repo = publish_space.StagedRepo("me/s", "space", tmp_path)
    logs = []
    publish_space.upload([repo], hub, logs.append)
    assert hub.calls[0] == ("create_repo", "me/s", {"repo_type": "space", "exist_ok": True, "space_sdk": "gradio"})
    assert logs == ["published https://huggingface.co/spaces/me/s"]

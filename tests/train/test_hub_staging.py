"""train.hub_staging: the trees the Hub receives, staged for real from the bundled models."""
import ast
import importlib.metadata
import json
import re
import sys

import pytest
from huggingface_hub import SpaceCard

from explorer.registry import bundled_copies_from_config, hub_ids_from_config
from train import hub_staging
from train.hub_staging import MODELS_DIR, ROOT, StagedRepo, stage_all, stage_model_repo

NAMES = ["mnist", "fashion-mnist", "mnist-cond", "photos"]
IDS = [f"me/realnvp-{name}" for name in NAMES]


@pytest.fixture(scope="module")
def staged(tmp_path_factory) -> list[StagedRepo]:
    return stage_all("me", "explorer", tmp_path_factory.mktemp("stage"))


def test_one_model_repository_per_bundled_model_then_the_space(staged):
    assert hub_staging.bundled_models() == NAMES
    assert [(r.repo_id, r.repo_type) for r in staged] == [*((i, "model") for i in IDS), ("me/explorer", "space")]


def test_a_model_repository_holds_the_bundled_model_and_its_examples(staged):
    photos = staged[NAMES.index("photos")]
    files = dict(photos.files())
    own = {p.name: p.stat().st_size for p in (MODELS_DIR / "photos").iterdir()}
    examples = {f"examples/{p.name}": p.stat().st_size for p in (ROOT / "assets" / "examples" / "photos").iterdir()}
    assert files == own | examples
    assert {"model.safetensors", "config.json", "README.md", "reference.json", "ood.json", "samples.png",
            "curves.png"} <= set(own)
    assert (photos.folder / "model.safetensors").read_bytes() == (MODELS_DIR / "photos" / "model.safetensors").read_bytes()
    with pytest.raises(FileNotFoundError, match="not a bundled model"):
        stage_model_repo("no-such-model", "me/x", photos.folder.parent / "x")


def test_the_space_holds_only_what_the_app_needs(staged):
    space = staged[-1]
    paths = [path for path, _ in space.files()]
    assert {p.split("/")[0] for p in paths} == {"README.md", "app.py", "explorer", "realnvp", "requirements.txt",
                                                "models.json", "assets"}
    assert not [p for p in paths if "__pycache__" in p or p.endswith(".pyc")]
    assert {p.rsplit("/", 1)[0] for p in paths if p.startswith("assets/")} == {"assets/models/mnist",
                                                                              "assets/examples/mnist"}
    assert sorted(p.rsplit("/", 1)[1] for p in paths if p.startswith("assets/models/")) == \
        ["config.json", "model.safetensors", "ood.json", "reference.json"]
    for package in ("explorer", "realnvp"):  # every module of the app's packages, as in the checkout
        assert {p for p in paths if p.startswith(package + "/")} == \
            {p.relative_to(ROOT).as_posix() for p in (ROOT / package).rglob("*.py")}
    assert max(size for _, size in space.files()) < 10 * 1000 * 1000  # a git push would work too


def test_the_space_lists_its_models_in_front_matter_and_models_json(staged):
    space = staged[-1].folder
    card = SpaceCard.load(space / "README.md")
    checkout = SpaceCard.load(ROOT / "README.md").data
    assert card.data.models == IDS
    for key in ("title", "sdk", "sdk_version", "python_version", "app_file", "license"):
        assert card.data.to_dict()[key] == checkout.to_dict()[key]
    assert (card.data.sdk, card.data.app_file) == ("gradio", "app.py")
    assert hub_ids_from_config("", space / "models.json") == (IDS, [])
    assert bundled_copies_from_config(space / "models.json") == {"me/realnvp-mnist": "mnist"}
    for repo in staged[:-1]:  # each model's content digest: a changed model changes the Space's README
        assert f"| [{repo.repo_id}](https://huggingface.co/{repo.repo_id}) | {len(repo.files())} |" in card.text
        assert f"`{repo.digest()[:16]}`" in card.text


def test_digest_changes_with_any_file(tmp_path):
    repo = StagedRepo("me/x", "model", tmp_path)
    (tmp_path / "a.json").write_text("{}")
    first = repo.digest()
    (tmp_path / "a.json").write_text("{ }")
    second = repo.digest()
    (tmp_path / "a.json").rename(tmp_path / "b.json")
    assert len({first, second, repo.digest()}) == 3


def imported_packages(folder) -> set[str]:
    """Top-level modules imported anywhere in the staged code (inside functions too)."""
    names = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"explorer", "realnvp", "app", "__future__"}


def test_the_space_requirements_cover_every_import_and_keep_the_tested_pins(staged):
    space = staged[-1].folder
    lines = [line for line in (space / "requirements.txt").read_text().splitlines() if line and not line.startswith("#")]
    pinned = {re.split(r"==", line)[0].lower().replace("_", "-") for line in lines}
    distributions = importlib.metadata.packages_distributions()
    needed = {dist.lower().replace("_", "-") for module in imported_packages(space) for dist in distributions[module][:1]}
    assert "gradio" in needed and "torch" in needed
    assert needed - {"gradio"} <= pinned, f"the app imports {needed - pinned - {'gradio'}} that the Space would not install"
    assert "gradio" not in pinned  # its version is the README's sdk_version
    checkout = set((ROOT / "requirements.txt").read_text().splitlines())
    assert set(lines) <= checkout  # the same pins CI tests
    assert not {"tqdm", "mlxtend", "scikit-learn", "scikit-image"} & pinned  # training only

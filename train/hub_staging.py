"""What the Hugging Face Hub receives from train.publish_space, written out as directories: one
model repository per bundled model, and the Space.

- A model repository `OWNER/realnvp-NAME` holds everything in assets/models/NAME (weights,
  config.json, the model card with its figures and sample grid, reference.json, ood.json) and the
  model's held-out example images under examples/ (the app shows them; explorer.registry fetches them).
- The Space holds only what the app needs: app.py, explorer/, realnvp/, a requirements.txt of the
  app's packages (Gradio itself comes from sdk_version), models.json and a README whose front
  matter lists the model repositories, and one bundled model, `SPACE_COPY`, as a copy of its model
  repository that stands in for it when the Hub cannot be reached (explorer.registry).
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = ROOT / "assets" / "models"
EXAMPLES_DIR = ROOT / "assets" / "examples"
README = ROOT / "README.md"  # its front matter is the Space's configuration
REQUIREMENTS = ROOT / "requirements.txt"

DEFAULT_SPACE = "realnvp-explorer"
# The Space's one bundled model: the app's default (the page is built around it at start, so without
# it a Space that cannot reach the Hub would not start at all), and the smallest (6.8 MB).
SPACE_COPY = "mnist"
SPACE_CODE = ("app.py", "explorer", "realnvp")
# What the app imports besides Gradio and the standard library (tests/test_hub_staging.py checks it).
SPACE_PACKAGES = ("torch", "torchvision", "huggingface_hub", "safetensors", "numpy", "pillow", "matplotlib", "spaces")
# What the app reads from a model's directory (figures and card stay on the model repository).
COPY_FILES = ("config.json", "model.safetensors", "reference.json", "ood.json", "vs_codecs.json")


@dataclass(frozen=True)
class StagedRepo:
    """A repository's tree, written in `folder`, to be uploaded as `repo_id` (`repo_type`: model or space)."""

    repo_id: str
    repo_type: str
    folder: Path

    def files(self) -> list[tuple[str, int]]:
        """(path in the repository, size in bytes) of every file, sorted by path."""
        return sorted((p.relative_to(self.folder).as_posix(), p.stat().st_size)
                      for p in self.folder.rglob("*") if p.is_file())

    def size(self) -> int:
        return sum(size for _, size in self.files())

    def digest(self) -> str:
        """sha256 over the tree's paths and contents: changes exactly when a file does."""
        h = hashlib.sha256()
        for path, _ in self.files():
            h.update(path.encode() + b"\0" + hashlib.sha256((self.folder / path).read_bytes()).digest())
        return h.hexdigest()


def model_repo_id(owner: str, name: str) -> str:
    return f"{owner}/realnvp-{name}"


def bundled_models(models_dir: Path = MODELS_DIR) -> list[str]:
    """The bundled models (directories with a config.json), the Space's default first, as the app lists them."""
    names = sorted(d.name for d in models_dir.iterdir() if (d / "config.json").is_file())
    return sorted(names, key=lambda name: name != SPACE_COPY)


def _files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith("."))


def _copy(files, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for path in files:
        shutil.copy2(path, target / path.name)


def stage_model_repo(name: str, repo_id: str, out: Path) -> StagedRepo:
    """assets/models/NAME and its examples as the tree of model repository `repo_id`, in `out`."""
    source = MODELS_DIR / name
    if not (source / "config.json").is_file():
        raise FileNotFoundError(f"{source} is not a bundled model (no config.json)")
    _copy(_files(source), out)
    if (EXAMPLES_DIR / name).is_dir():
        _copy(_files(EXAMPLES_DIR / name), out / "examples")
    return StagedRepo(repo_id, "model", out)


def space_requirements() -> str:
    """requirements.txt's pins of the packages the app imports (Gradio comes from the Space's sdk_version)."""
    keep = []
    for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        package = re.split(r"[<>=!~\[; ]", line.strip(), maxsplit=1)[0]
        if package and not line.lstrip().startswith("#") and package.lower().replace("_", "-") in \
                {p.replace("_", "-") for p in SPACE_PACKAGES}:
            keep.append(line.strip())
    missing = set(SPACE_PACKAGES) - {re.split(r"[<>=!~\[; ]", k, maxsplit=1)[0] for k in keep}
    if missing:
        raise ValueError(f"{REQUIREMENTS.name} pins none of {sorted(missing)}")
    return ("# What the Space installs besides Gradio, whose version is the README's sdk_version.\n"
            + "\n".join(keep) + "\n")


def front_matter(models: list[str]) -> dict:
    """The checkout's README front matter (title, sdk, sdk_version, app_file, ...) with `models`."""
    text = README.read_text(encoding="utf-8")
    match = re.match(r"---\n(.*?)\n---\n", text, flags=re.S)
    if match is None:
        raise ValueError(f"{README} has no front matter")
    return {**yaml.safe_load(match.group(1)), "models": list(models)}


def space_readme(models: list[StagedRepo]) -> str:
    """The Space's README: its configuration, then the models it serves. The table carries each
    model's content digest, so that republishing a changed model changes the Space too, which then
    restarts and downloads the new files."""
    header = yaml.safe_dump(front_matter([m.repo_id for m in models]), sort_keys=False, allow_unicode=True)
    rows = "\n".join(f"| [{m.repo_id}](https://huggingface.co/{m.repo_id}) | {len(m.files())} | "
                     f"{m.size() / 1e6:.1f} MB | `{m.digest()[:16]}` |" for m in models)
    copy = models[0].repo_id
    return f"""---
{header}---

# Real NVP Explorer

Look inside a Real NVP normalizing flow (Dinh, Sohl-Dickstein & Bengio, ICLR 2017): samples,
interpolations, per-scale latents, exact likelihoods and per-pixel bits, inpainting, class-conditional
classification and out-of-distribution checks.

The models are Hugging Face model repositories, each with its card, downloaded when first picked:

| model | files | size | content (sha256) |
|---|---|---|---|
{rows}

`assets/models/{SPACE_COPY}` is a copy of {copy}, the default model: it stands in for it when the Hub
cannot be reached, so the Space always starts. The other models say so when they cannot be loaded.

Published with `python -m train.publish_space` from the realnvp-explorer repository.
"""


def stage_space(space_id: str, models: list[StagedRepo], out: Path) -> StagedRepo:
    """The Space's tree in `out`: code, requirements, README, models.json and the bundled copy of the
    first model (`SPACE_COPY`), which must be that copy's model repository."""
    if not models or not models[0].repo_id.endswith(f"/realnvp-{SPACE_COPY}"):
        raise ValueError(f"the first model must be the model repository of {SPACE_COPY}")
    out.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
    for item in SPACE_CODE:
        if (ROOT / item).is_dir():
            shutil.copytree(ROOT / item, out / item, ignore=ignore)
        else:
            shutil.copy2(ROOT / item, out / item)
    (out / "requirements.txt").write_text(space_requirements(), encoding="utf-8")
    listed = [{"repo_id": models[0].repo_id, "bundled_copy": SPACE_COPY}] + [m.repo_id for m in models[1:]]
    (out / "models.json").write_text(json.dumps(listed, indent=2) + "\n", encoding="utf-8")
    (out / "README.md").write_text(space_readme(models), encoding="utf-8")
    _copy([MODELS_DIR / SPACE_COPY / f for f in COPY_FILES if (MODELS_DIR / SPACE_COPY / f).is_file()],
          out / "assets" / "models" / SPACE_COPY)
    _copy(_files(EXAMPLES_DIR / SPACE_COPY), out / "assets" / "examples" / SPACE_COPY)
    return StagedRepo(space_id, "space", out)


def stage_all(owner: str, space_name: str, out: Path) -> list[StagedRepo]:
    """Every model repository (in out/models/realnvp-NAME), then the Space (in out/space)."""
    models = [stage_model_repo(name, model_repo_id(owner, name), out / "models" / f"realnvp-{name}")
              for name in bundled_models()]
    return models + [stage_space(f"{owner}/{space_name}", models, out / "space")]

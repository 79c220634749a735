"""Where the app's models are and what is listed: the bundled models' and examples' folders, the
Hub repo ids of `REALNVP_HUB_MODELS` and `models.json`, and a model folder's example images and
reference figures. Plain reading, no loading: the registry (explorer.registry) loads."""
from __future__ import annotations

import json
import logging
import os
import re
import sysconfig
from pathlib import Path

log = logging.getLogger("explorer.registry")

# A checkout keeps assets/ and models.json beside the packages; `pip install .` puts them under
# <prefix>/share/realnvp-explorer (see pyproject.toml's data-files).
_CHECKOUT = Path(__file__).resolve().parent.parent
ROOT = _CHECKOUT if (_CHECKOUT / "assets" / "models").is_dir() else \
    Path(sysconfig.get_path("data")) / "share" / "realnvp-explorer"
MODELS_DIR = ROOT / "assets" / "models"
EXAMPLES_DIR = ROOT / "assets" / "examples"
MODELS_FILE = ROOT / "models.json"
HUB_ENV = "REALNVP_HUB_MODELS"
DEFAULT_ENV = "REALNVP_DEFAULT_MODEL"
PREFERRED_DEFAULT = "mnist"
HUB_FILES = ["config.json", "model.safetensors", "README.md", "reference.json", "ood.json", "vs_codecs.json",
             "class_means.safetensors", "examples/*"]
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif")
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def read_models_file(models_file: Path | None) -> tuple[list, list[str]]:
    """The entries of models.json (absent or empty: none), and warnings if it is not a JSON list."""
    if models_file is None or not Path(models_file).is_file():
        return [], []
    try:
        listed = json.loads(Path(models_file).read_text(encoding="utf-8") or "[]")
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return [], [f"{Path(models_file).name} is not valid JSON ({error}); ignoring it"]
    if not isinstance(listed, list):
        return [], [f"{Path(models_file).name} must hold a JSON list of repo ids; ignoring it"]
    return listed, []


def _entry_repo_id(item) -> str | None:
    if isinstance(item, dict):
        item = item.get("repo_id")
    return item.strip() if isinstance(item, str) and item.strip() else None


def hub_ids_from_config(env: str | None = None, models_file: Path | None = MODELS_FILE) -> tuple[list[str], list[str]]:
    """Repo ids from `REALNVP_HUB_MODELS` (comma-separated) and `models.json` (a JSON list),
    without duplicates; and warnings about entries that are not valid repo ids."""
    env = os.environ.get(HUB_ENV, "") if env is None else env
    candidates = [part.strip() for part in env.split(",") if part.strip()]
    listed, warnings = read_models_file(models_file)
    candidates += [repo_id for repo_id in map(_entry_repo_id, listed) if repo_id]
    ids = []
    for repo_id in candidates:
        if not _REPO_ID.match(repo_id) or "--" in repo_id or ".." in repo_id or len(repo_id) > 96:
            warnings.append(f"ignoring {repo_id!r}: not a Hugging Face repo id (owner/name)")
        elif repo_id not in ids:
            ids.append(repo_id)
    return ids, warnings


def bundled_copies_from_config(models_file: Path | None = MODELS_FILE) -> dict[str, str]:
    """{repo id: bundled model name} from the models.json entries that name a bundled copy."""
    listed, _ = read_models_file(models_file)
    return {item["repo_id"].strip(): item["bundled_copy"] for item in listed
            if isinstance(item, dict) and _entry_repo_id(item) and isinstance(item.get("bundled_copy"), str)}


def find_examples(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def read_reference(directory: Path) -> dict | None:
    """reference.json (test-set bits/dim written by train.export), or None if absent/unreadable."""
    path = directory / "reference.json"
    if not path.is_file():
        return None
    try:
        reference = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as error:
        log.warning("%s: unreadable (%s); ignoring it", path, error)
        return None
    if not isinstance(reference, dict) or not isinstance(reference.get("test_bpd", []), list):
        log.warning("%s: unexpected layout; ignoring it", path)
        return None
    return reference


def read_vs_codecs(directory: Path) -> dict | None:
    """vs_codecs.json (the model against lossless codecs by kind of photograph, written by
    bench/photo_protocol.py --write-model-figures), or None if absent/unreadable."""
    path = directory / "vs_codecs.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as error:
        log.warning("%s: unreadable (%s); ignoring it", path, error)
        return None
    if record is not None and not (isinstance(record, dict) and isinstance(record.get("kinds"), dict)):
        log.warning("%s: unexpected layout; ignoring it", path)
        return None
    return record


def distinct_examples(examples: list[Path], count: int) -> list[str | None]:
    """`count` example paths, preferring different classes: files are named CLASS_INDEX.png (e.g.
    digit3_0.png), and one of each class comes first. Padded with None when there are too few."""
    paths, seen = [], set()
    for path in examples:
        key = path.stem.rsplit("_", 1)[0]
        if key not in seen:
            seen.add(key)
            paths.append(str(path))
    paths += [str(p) for p in examples if str(p) not in paths]
    paths += [None] * count
    return paths[:count]

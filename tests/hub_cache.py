"""A Hugging Face cache laid out as snapshot_download leaves it, built from local folders (the
staged model repositories), for tests that run the app offline against "downloaded" models:
models--OWNER--NAME/{blobs/<sha256>, snapshots/<commit>/<path> -> ../../blobs/<sha256>, refs/main}."""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path


def cache_repo(cache: Path, repo_id: str, folder: Path) -> Path:
    """Put `folder`'s files into `cache` as the snapshot of model repo `repo_id`; returns the snapshot."""
    repo = Path(cache) / ("models--" + repo_id.replace("/", "--"))
    files = sorted(p for p in Path(folder).rglob("*") if p.is_file())
    digests = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    commit = hashlib.sha1("".join(f"{p.relative_to(folder)}:{d}" for p, d in digests.items()).encode()).hexdigest()
    snapshot = repo / "snapshots" / commit
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    for path, digest in digests.items():
        blob = repo / "blobs" / digest
        if not blob.exists():
            shutil.copyfile(path, blob)
        link = snapshot / path.relative_to(folder)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    return snapshot

""".gitattributes: every tracked file over 10 MB (the Hub's limit for files outside LFS/Xet), and
every model weight file, goes through Git LFS, so a clone can be pushed to a Space by git."""
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HUB_LIMIT = 10 * 1000 * 1000  # bytes

pytestmark = pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(),
                                reason="needs git and a git checkout")


def lfs_filtered(paths: list[str]) -> dict[str, bool]:
    """Whether .gitattributes gives each path (existing or not) the LFS filter."""
    out = subprocess.run(["git", "check-attr", "-z", "filter", "--", *paths], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.split("\0")
    return {path: value == "lfs" for path, _, value in zip(out[::3], out[1::3], out[2::3])}


def test_every_tracked_file_over_10_mb_goes_through_lfs():
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True,
                             text=True).stdout.split("\0")
    large = [p for p in tracked if p and (ROOT / p).is_file() and (ROOT / p).stat().st_size > HUB_LIMIT]
    assert "assets/models/photos/model.safetensors" in large  # 30 MB: the check sees the real files
    uncovered = [p for p, lfs in lfs_filtered(large).items() if not lfs]
    assert not uncovered, f"tracked files over 10 MB without an LFS rule in .gitattributes: {uncovered}"


def test_weights_go_through_lfs_whatever_their_size_and_code_does_not():
    covered = lfs_filtered(["assets/models/mnist/model.safetensors", "assets/models/new/model.safetensors",
                            "runs/x/checkpoint.pt", "explorer/space.py", "assets/models/mnist/config.json"])
    assert covered == {"assets/models/mnist/model.safetensors": True, "assets/models/new/model.safetensors": True,
                       "runs/x/checkpoint.pt": True, "explorer/space.py": False,
                       "assets/models/mnist/config.json": False}

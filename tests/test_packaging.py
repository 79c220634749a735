"""`pip install .` gives a working library, trainer and app registry outside the checkout."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def test_every_bundled_model_and_example_folder_is_packaged():
    data_files = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
    for kind in ("models", "examples"):
        for folder in sorted((ROOT / "assets" / kind).iterdir()):
            target = f"share/realnvp-explorer/assets/{kind}/{folder.name}"
            assert data_files.get(target) == [f"assets/{kind}/{folder.name}/*"], f"{folder} is not in pyproject's data-files"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    source = out / "source"  # a copy, so the build leaves nothing in the checkout
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "test-artifacts",
                                                                "__pycache__", ".pytest_cache", "data"))
    # no build isolation: the build uses this environment's setuptools, so no network is needed
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(out)], check=True, cwd=out)
    (path,) = out.glob("realnvp_explorer-*.whl")
    return path


def test_wheel_declares_its_dependencies_and_ships_the_assets(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        metadata = next(z.read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
    requires = [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    for package in ("torch", "torchvision", "huggingface_hub", "safetensors", "numpy", "tqdm", "matplotlib"):
        assert any(r.startswith(package) for r in requires), f"{package} missing from Requires-Dist: {requires}"
    assert any("gradio" in r and 'extra == "app"' in r for r in requires)
    assert any("pytest" in r and 'extra == "test"' in r for r in requires)
    for package in ("realnvp/model.py", "train/__main__.py", "explorer/space.py"):
        assert package in names
    assert any(n.endswith("data/share/realnvp-explorer/assets/models/mnist/model.safetensors") for n in names)
    assert not any(n.startswith("tests/") for n in names)


def test_installed_wheel_works_in_a_fresh_environment(wheel, tmp_path):
    venv = tmp_path / "venv"
    # without pip of its own (ensurepip takes seconds): this environment's pip installs into it
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index",
                    str(wheel)], check=True)
    # The dependencies (several GB of torch) come from this environment through a .pth file
    # placed after the fresh environment's own site-packages; the project itself does not.
    site = Path(subprocess.check_output([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                        text=True).strip())
    (site / "zz_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"HF_HUB_OFFLINE": "1"}
    script = f"""
import realnvp, train, explorer.registry as registry
assert realnvp.__file__.startswith({str(venv)!r}), realnvp.__file__
from realnvp import RealNVP
model = RealNVP.from_pretrained(registry.MODELS_DIR / "mnist")
assert str(registry.MODELS_DIR).startswith({str(venv)!r}), registry.MODELS_DIR
print("ok", model.sample(2).shape)
"""
    commands = ([str(python), "-c", script], [str(python), "-m", "train", "--help"],
                [str(venv / "bin" / "realnvp-train"), "--help"])
    # side by side: each spends its time importing torch, and a second core is free while tests run
    running = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                                env=env) for command in commands]
    outs = [process.communicate(timeout=600) for process in running]
    for command, process, (_, err) in zip(commands, running, outs):
        assert process.returncode == 0, (command, err)
    assert "ok torch.Size([2, 1, 28, 28])" in outs[0][0]
    for out, _ in outs[1:]:
        assert "--dataset" in out and "--resume" in out

"""realnvp is the library alone: importing it, or any of its modules, loads no app dependency
(gradio, PIL, matplotlib) and changes no global state. Checked in a fresh interpreter."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP_ONLY = ["gradio", "PIL", "matplotlib"]

PROBE = """
import json, logging, pkgutil, sys, warnings
import torch

def state():
    root = logging.getLogger()
    return {"threads": torch.get_num_threads(), "dtype": str(torch.get_default_dtype()),
            "grad": torch.is_grad_enabled(), "warning filters": len(warnings.filters),
            "root logger": [root.level, len(root.handlers)], "MPLBACKEND": __import__("os").environ.get("MPLBACKEND")}

before = state()
import realnvp
modules = sorted(info.name for info in pkgutil.walk_packages(realnvp.__path__, "realnvp."))
for name in modules:
    __import__(name)
after = state()
loaded = sorted({name.split(".")[0] for name in sys.modules} & set(sys.argv[1:]))
import matplotlib  # only now: the backend the user chose (MPLBACKEND) must still be the one in use
print(json.dumps({"modules": modules, "loaded": loaded, "before": before, "after": after,
                  "backend": matplotlib.get_backend()}))
"""


def test_importing_realnvp_loads_no_app_dependency_and_changes_no_global_state():
    env = dict(os.environ, MPLBACKEND="svg")
    run = subprocess.run([sys.executable, "-c", PROBE, *APP_ONLY], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert {"realnvp.model", "realnvp.inpainting", "realnvp.codecs"} <= set(result["modules"])  # they were all imported
    assert result["loaded"] == [], f"importing realnvp loaded {result['loaded']}"
    assert result["after"] == result["before"]
    assert result["backend"] == "svg", "a realnvp module switched matplotlib's backend"

"""Publishing: push a run's best checkpoint (weights, config.json and model card) to the
Hugging Face Hub. `python -m train --push-to-hub REPO_ID` does it at the end of a run;
`python -m train.publish --run OUT --repo-id REPO_ID` does it later."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from huggingface_hub import upload_file

from realnvp import RealNVP


def publishable(run: Path) -> Path:
    """The checkpoint a run publishes: OUT/best (chosen by validation bits/dim), else OUT/last."""
    run = Path(run)
    return run / "best" if (run / "best").exists() else run / "last"


def push(run: Path, repo_id: str, log=print) -> bool:
    """Push `publishable(run)`; a network or authentication failure is logged, not raised
    (nothing is lost: the checkpoints stay in `run`)."""
    checkpoint = publishable(run)
    try:
        model = RealNVP.from_pretrained(checkpoint)
        model.push_to_hub(repo_id)
        upload_file(path_or_fileobj=str(checkpoint / "README.md"), path_in_repo="README.md", repo_id=repo_id)
    except Exception as error:  # noqa: BLE001 - any network or auth failure
        log(f"[push-to-hub] could not push to {repo_id}: {type(error).__name__}: {error}. "
            f"Nothing was lost: the checkpoints are in {run}; push later with "
            f"python -m train.publish --run {run} --repo-id {repo_id}")
        return False
    log(f"pushed {checkpoint} to https://huggingface.co/{repo_id}")
    return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m train.publish",
                                description="Push a run's best checkpoint (weights, config.json, model card) "
                                            "to the Hugging Face Hub.")
    p.add_argument("--run", required=True, help="the run directory (OUT of python -m train)")
    p.add_argument("--repo-id", required=True, help="the Hub repository, e.g. you/realnvp-mnist")
    args = p.parse_args(argv)
    if not (publishable(Path(args.run)) / "config.json").is_file():
        print(f"error: {args.run} holds no checkpoint (best/ or last/)", file=sys.stderr)
        return 2
    return 0 if push(Path(args.run), args.repo_id) else 1


if __name__ == "__main__":
    sys.exit(main())

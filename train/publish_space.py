"""Publish everything to the Hugging Face Hub: each bundled model to its own model repository
(`OWNER/realnvp-NAME`), then the Space (`OWNER/NAME`) that pulls them. train.hub_staging says what
each tree holds; this module checks the token, stages the trees, prints them and uploads them with
huggingface_hub's own calls (create_repo, upload_folder: large files go through Xet/LFS by themselves).

    python -m train.publish_space                 # needs a token: `hf auth login` or HF_TOKEN
    python -m train.publish_space --dry-run --owner you   # stage and print only; no token needed
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from train import hub_staging
from train.hub_staging import StagedRepo

DEFAULT_STAGE = hub_staging.ROOT / "build" / "hub"
STAGE_MARKER = ".staged-by-publish-space"  # beside the trees, never in one: a directory we may empty
PLACEHOLDER_OWNER = "OWNER"


class CannotPublish(RuntimeError):
    """Something the upload needs is missing (a token, the network); the message says what."""


def hub_user(token: str | None, api) -> str:
    """The Hub user name of `token` (asked through `api`, an HfApi). Raises CannotPublish when there is
    no token, offline mode is on, or the Hub cannot be reached or refuses the token."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        raise CannotPublish("HF_HUB_OFFLINE is set, so nothing can be uploaded: unset it (or use --dry-run "
                            "to stage and list what would be uploaded)")
    if not token:
        raise CannotPublish("no Hugging Face token: log in with `hf auth login` (or set HF_TOKEN) with a token "
                            "that has write access (https://huggingface.co/settings/tokens)")
    try:
        return api.whoami()["name"]
    except Exception as error:  # noqa: BLE001 - a network failure or a refused token: say which
        raise CannotPublish(f"could not check the token with the Hub ({type(error).__name__}: "
                            f"{' '.join(str(error).split())[:300]})") from None


def prepare_stage(stage: Path) -> Path:
    """An empty staging directory: created, or emptied if an earlier run of this command made it.
    Anything else that is not empty is refused (nothing of the user's is deleted)."""
    stage = Path(stage)
    if stage.exists() and any(stage.iterdir()):
        if not (stage / STAGE_MARKER).is_file():
            raise CannotPublish(f"{stage} is not empty and was not made by this command; choose another --stage")
        shutil.rmtree(stage)
    stage.mkdir(parents=True, exist_ok=True)
    (stage / STAGE_MARKER).write_text("written by python -m train.publish_space; emptied by its next run\n")
    return stage


def listing(staged: list[StagedRepo]) -> str:
    """Each repository's files and sizes, as the command prints them."""
    lines = []
    for repo in staged:
        files = repo.files()
        lines.append(f"{repo.repo_id} ({repo.repo_type}, {len(files)} files, {repo.size():,} bytes) in {repo.folder}")
        width = max(len(path) for path, _ in files)
        lines += [f"  {path:<{width}}  {size:>12,}" for path, size in files]
    return "\n".join(lines)


def upload(staged: list[StagedRepo], api, log=print) -> None:
    """Create each repository if needed and make its files exactly the staged tree (files no
    longer staged are deleted; .gitattributes is kept), models before the Space that pulls them."""
    for repo in staged:
        api.create_repo(repo.repo_id, repo_type=repo.repo_type, exist_ok=True,
                        **({"space_sdk": "gradio"} if repo.repo_type == "space" else {}))
        api.upload_folder(repo_id=repo.repo_id, repo_type=repo.repo_type, folder_path=str(repo.folder),
                          delete_patterns="*", commit_message="Publish with python -m train.publish_space")
        kind = "spaces/" if repo.repo_type == "space" else ""
        log(f"published https://huggingface.co/{kind}{repo.repo_id}")


def main(argv: list[str] | None = None, api=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m train.publish_space",
        description="Publish each bundled model to its own model repository (OWNER/realnvp-NAME) and the app "
                    "as a Gradio Space (OWNER/SPACE) that pulls them from the Hub.")
    p.add_argument("--owner", help="user or organisation that owns the repositories (default: the token's user)")
    p.add_argument("--space", default=hub_staging.DEFAULT_SPACE, help="the Space's name (default: %(default)s)")
    p.add_argument("--dry-run", action="store_true", help="stage and list the trees; upload nothing (no token needed)")
    p.add_argument("--stage", type=Path, default=DEFAULT_STAGE,
                   help="where the trees are written, one folder per repository (default: build/hub)")
    args = p.parse_args(argv)

    from huggingface_hub import HfApi, get_token

    owner = args.owner
    if not hub_staging.MODELS_DIR.is_dir():
        print(f"error: no bundled models in {hub_staging.MODELS_DIR}: run this from a checkout of the repository",
              file=sys.stderr)
        return 2
    try:
        if not args.dry_run:
            token = get_token()
            api = api or HfApi(token=token)
            owner = owner or hub_user(token, api)
        stage = prepare_stage(args.stage)
    except CannotPublish as error:
        print(f"error: {error}. Nothing was uploaded.", file=sys.stderr)
        return 2
    if owner is None:
        owner = PLACEHOLDER_OWNER
        print(f"note: no --owner given; the trees name the owner {PLACEHOLDER_OWNER}", file=sys.stderr)
    staged = hub_staging.stage_all(owner, args.space, stage)
    print(listing(staged))
    if args.dry_run:
        print(f"dry run: nothing uploaded; the trees are in {stage}")
        return 0
    try:
        upload(staged, api)
    except Exception as error:  # noqa: BLE001 - say what failed; rerunning uploads only what changed
        print(f"error: the upload stopped: {type(error).__name__}: {' '.join(str(error).split())[:500]}. "
              f"Run the command again: it uploads only what is missing or changed.", file=sys.stderr)
        return 1
    print(f"done: the Space is https://huggingface.co/spaces/{owner}/{args.space} (it builds for a few minutes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

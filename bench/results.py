"""bench/RESULTS.md, written by the benchmarks themselves: `--record` on a benchmark script puts
what it prints into its own section of RESULTS.md, headed by the date, the machine and the exact
command, in place of that section's previous figures (other sections are left as they are).

    python bench/quality.py --record          # replaces the section "Models against lossless codecs"

Each script calls `run_recorded(TITLE, main)` under `if __name__ == "__main__":`.
"""
from __future__ import annotations

import contextlib
import datetime
import io
import re
import shlex
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
sys.path.insert(0, str(RESULTS.parent.parent))  # the checkout, for train.distributed
HEADER = ("# Benchmark results\n\nEvery section below is written by the benchmark it names (`--record`), "
          "with the date, the machine and the command that produced it. Speed is a ratio against a peer or a "
          "baseline measured in the same run; absolute figures vary with the machine and its load.\n")


def machine() -> str:
    """The CPU (model name and threads) or the GPU torch uses, and torch's version."""
    import torch

    from train.distributed import hardware_description

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return f"{hardware_description(device, 1)}; torch {torch.__version__}"


def command() -> str:
    """This process's command line as one would type it from the repository root."""
    script = Path(sys.argv[0])
    with contextlib.suppress(ValueError):
        script = script.resolve().relative_to(RESULTS.parent.parent)
    return " ".join(["python", shlex.quote(str(script)), *map(shlex.quote, sys.argv[1:])])


def replace_section(text: str, title: str, body: str) -> str:
    """`text` with the `## title` section's body replaced by `body` (appended when it has none)."""
    section = f"## {title}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        return pattern.sub(lambda _: section + "\n", text, count=1).rstrip() + "\n"
    return text.rstrip() + "\n\n" + section


def write_section(title: str, output: str, notes: str = "", when: datetime.date | None = None,
                  path: Path = RESULTS) -> None:
    """Record one benchmark's output under `## title` in RESULTS.md."""
    when = when or datetime.date.today()
    body = f"Measured {when.isoformat()} on {machine()} with `{command()}`.\n\n{output.strip()}\n"
    if notes:
        body += f"\n{notes.strip()}\n"
    text = path.read_text(encoding="utf-8") if path.is_file() else HEADER
    path.write_text(replace_section(text, title, body), encoding="utf-8")


class _Tee(io.TextIOBase):
    def __init__(self, stream):
        self.stream, self.buffer = stream, io.StringIO()

    def write(self, text):
        self.buffer.write(text)
        return self.stream.write(text)

    def flush(self):
        self.stream.flush()


@contextlib.contextmanager
def recording(title: str, enabled: bool = True, notes: str = ""):
    """Print as usual; with `enabled`, also record what was printed as the section `title`
    (only when the block finishes without an error)."""
    if not enabled:
        yield
        return
    tee = _Tee(sys.stdout)
    with contextlib.redirect_stdout(tee):
        yield
    write_section(title, tee.buffer.getvalue(), notes)
    print(f"recorded in {RESULTS} under '{title}'")


def run_recorded(title: str, main, notes: str = ""):
    """Run a benchmark's `main()`; with `--record` on the command line (taken off before `main`
    parses it), record what it printed as the section `title`. Returns main's exit status."""
    record = "--record" in sys.argv
    if record:
        sys.argv.remove("--record")
    with recording(title, record, notes):
        return main()

"""The app's response times as a visitor sees them: each action through `gradio_client` on
127.0.0.1, one call at a time, median of `--repeats` after one warm-up call per action.

    python bench/app_latency.py [--repeats 5] [--model mnist] [--url http://127.0.0.1:7860 | --app PATH/app.py]
    python bench/app_latency.py --smoke        # every action once, one client, no warm-up: does it run?
    python bench/app_latency.py --only photos  # the actions whose name says "photos"

Without --url it starts `python app.py` (or another checkout's, `--app`) on a free port and stops
it afterwards; `--before OTHER/app.py` starts that one too and times every action on both in
turn, for a before/after table from one run. Actions: a
64-sample grid, the per-scale row, the likelihood (heatmap, histogram, breakdown, sizes), the
5x5 manifold, and completion of the lower half of a digit: 100 steps at learning rate 0.05 (the
old defaults; also as steps/s) and with the app's defaults (50 steps at 0.2, which end at a lower
bits/dim than those 100). The rows of issue #27, on a 451x300 photograph (skimage's chelsea): the
per-scale row and the likelihood with the `photos` model at the photograph's own resolution, 64
samples of `photos`, and sampled completions of the lower half of a digit at the app's defaults
(4 completions, 30 latent-search steps at rate 0.2, 5 Langevin steps) and at the earlier ones
(80 latent-search steps at rate 0.1, 30 Langevin steps).
Three clients time the same calls:
- `default`: `Client(url)`, as a script would use it.
- `ssl_verify=False`: the same uploads and downloads. gradio_client sends every upload, download
  and queue request through a new httpx client (`httpx.post`, `httpx.stream`), and with the default
  `ssl_verify=True` each one loads the CA bundle into a new SSL context first: about 20 ms of the
  client's own CPU per request on this machine, spent even on a plain http:// URL, where nothing is
  ever verified. `ssl_verify=False` skips that setup (0.2 ms) and nothing else on http://.
- `no downloads`: `download_files=False`, the result files left on the server (the inputs are
  still uploaded).
A browser (bench/browser_latency.py) keeps its connections and fetches the files in parallel.
A benchmark, not a test: run it on an idle machine.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from explorer.runtime import free_port  # noqa: E402
import results  # noqa: E402  (bench/results.py: --record writes RESULTS.md)

EXAMPLES = ROOT / "assets" / "examples" / "mnist"
COLOUR_MODEL = "photos"


def photograph(folder: Path) -> Path:
    """A 451x300 photograph (skimage.data.chelsea) as a PNG in `folder`."""
    from PIL import Image
    from skimage import data

    path = folder / "chelsea-451x300.png"
    Image.fromarray(data.chelsea()).save(path)
    return path


def start_app(app: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}
    return subprocess.Popen([sys.executable, str(app)], cwd=app.parent, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@contextlib.contextmanager
def served_app(url: str | None, app: Path):
    """The app's URL: `url` as given, or else `app` started on a free port (and stopped afterwards)."""
    if url is not None:
        yield url
        return
    port = free_port()
    server = start_app(app.resolve(), port)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.terminate()
        server.wait(timeout=30)


def wait_for(url: str, seconds: float = 180, **client_options):
    from gradio_client import Client

    deadline = time.monotonic() + seconds
    while True:
        try:
            return Client(url, verbose=False, **client_options)
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url")
    p.add_argument("--app", type=Path, default=ROOT / "app.py", help="the app.py to start (without --url)")
    p.add_argument("--model", default="mnist")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--extras", action="store_true", help="also the mix, animation, classify and OOD actions")
    p.add_argument("--smoke", action="store_true",
                   help="a quick check that every action runs: once each, default client only, no warm-up")
    p.add_argument("--only", metavar="TEXT", help="only the actions whose name contains TEXT (e.g. photos)")
    p.add_argument("--before", type=Path, metavar="APP",
                   help="another checkout's app.py, started beside this one: each action is timed on it and on this "
                        "app in turn (default clients), for a before/after table from one run on one machine")
    args = p.parse_args()
    from gradio_client import handle_file

    with served_app(args.url, args.app) as url, tempfile.TemporaryDirectory() as folder, \
            (served_app(None, args.before) if args.before else contextlib.nullcontext()) as before_url:
        clients = {"default": wait_for(url)}
        if args.before:
            clients = {"before, default": wait_for(before_url), "after, default": clients["default"]}
        elif not args.smoke:
            clients.update({"ssl_verify=False": wait_for(url, ssl_verify=False),
                            "no downloads": wait_for(url, download_files=False)})
        client = next(iter(clients.values()))
        digit = lambda d: handle_file(str(sorted(EXAMPLES.glob(f"digit{d}_*.png"))[0]))  # noqa: E731
        photo = handle_file(str(photograph(Path(folder))))
        m, c = args.model, COLOUR_MODEL
        actions = {
            "64-sample grid": lambda: client.predict(m, 64, 0.8, 1, False, "all", False, 1.0, 0.5, api_name="/sample"),
            "per-scale row": lambda: client.predict(m, digit(6), "auto", "auto", "model", "resample", 1.0, 0,
                                                    api_name="/per_scale"),
            "likelihood": lambda: client.predict(m, digit(3), "auto", "auto", "model", api_name="/likelihood"),
            "manifold 5x5": lambda: client.predict(m, digit(0), digit(1), digit(2), digit(7), "auto", "auto", 5,
                                                   api_name="/manifold"),
            "completion, 100 steps": lambda: client.predict(m, digit(9), "auto", "auto", 0.5, 1.0, 0.0, 1.0, 100, 0.05,
                                                            0, api_name="/complete"),
            "completion, app defaults": lambda: client.predict(m, digit(9), "auto", "auto", 0.5, 1.0, 0.0, 1.0,
                                                               api_name="/complete"),
            # issue #27's rows
            "per-scale row, photos, own resolution": lambda: client.predict(c, photo, "auto", "auto", "own",
                                                                            "resample", 1.0, 0, api_name="/per_scale"),
            "likelihood, photos, own resolution": lambda: client.predict(c, photo, "auto", "auto", "own",
                                                                         api_name="/likelihood"),
            "completions, sampled, app defaults": lambda: client.predict(  # the page's values, spelled out
                m, digit(9), "auto", "auto", "rectangle", 0.5, 1.0, 0.0, 1.0, None, "sample", 4, 30, 5, 1.0, 0.2, 0,
                api_name="/completions"),
            # the defaults until 2026-12-07: the latent search at rate 0.1 (earlier apps ignore the rate when sampling)
            "completions, sampled, 80 + 30 steps": lambda: client.predict(
                m, digit(9), "auto", "auto", "rectangle", 0.5, 1.0, 0.0, 1.0, None, "sample", 4, 80, 30, 1.0, 0.1, 0,
                api_name="/completions"),
            "64-sample grid, photos": lambda: client.predict(c, 64, 0.8, 1, False, "all", False, 1.0, 0.5,
                                                             api_name="/sample"),
        }
        if args.extras:  # the actions of the newer tabs (absent from older checkouts)
            actions.update({
                "mix scales": lambda: client.predict(m, digit(2), digit(6), "auto", "auto", "model",
                                                     api_name="/mix_scales"),
                "animation, 48 frames GIF": lambda: client.predict(m, digit(0), digit(1), digit(2), digit(7), "auto",
                                                                   "auto", "circle", 48, 12, "gif", api_name="/animate"),
                "classify (mnist-cond)": lambda: client.predict("mnist-cond", digit(3), "auto", api_name="/classify"),
                "out-of-distribution lab": lambda: client.predict(m, digit(3), "auto", "fashion-mnist", "png",
                                                                  api_name="/ood"),
                # issue #28's views inside the flow
                "layer by layer, encode": lambda: client.predict(m, digit(3), "auto", "auto", "encode", 1.0, 0,
                                                                 api_name="/layers"),
                "restyle (mnist-cond)": lambda: client.predict("mnist-cond", digit(3), "auto", "auto",
                                                               api_name="/restyle"),
                "direction 7 -> 1, all scales": lambda: client.predict(m, digit(7), "auto", "7", "1", 1.0, "all",
                                                                       api_name="/direction"),
            })
        if args.only:
            actions = {name: call for name, call in actions.items() if args.only in name}
        repeats = 1 if args.smoke else args.repeats
        how = "one call, no warm-up (smoke)" if args.smoke else f"median of {repeats} after a warm-up call"
        where = f"before: {os.path.relpath(args.before)}, after: {os.path.relpath(args.app)}" if args.before else \
            (args.url or os.path.relpath(args.app))
        print(f"{m}, {where}, {how}")
        first = next(iter(clients))
        print("| action | " + " | ".join(f"{kind}: median (s)" for kind in clients) + f" | {first}: min (s) |")
        print("|---" * (len(clients) + 2) + "|")
        for name, call in actions.items():
            times = {}
            for kind in clients:
                client = clients[kind]  # the actions' lambdas read `client` when called
                if not args.smoke:
                    call()
                times[kind] = []
                for _ in range(repeats):
                    start = time.perf_counter()
                    call()
                    times[kind].append(time.perf_counter() - start)
            medians = [statistics.median(t) for t in times.values()]
            extra = f" ({100 / medians[0]:.1f} steps/s)" if "100 steps" in name else ""
            cells = [f"{medians[0]:.3f}{extra}", *(f"{m:.3f}" for m in medians[1:])]
            print(f"| {name} | " + " | ".join(cells) + f" | {min(times[first]):.3f} |", flush=True)


if __name__ == "__main__":
    title = "The app through gradio_client"
    if "--before" in sys.argv:
        title += ", before and after"
    elif "--extras" in sys.argv:
        title += ", every tab"
    sys.exit(results.run_recorded(title, main))

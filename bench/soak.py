"""Soak test of the explorer app: many clients calling every endpoint for a while (issue #11).

Starts `python app.py` in its own process (so its memory is measured alone) with a fresh
GRADIO_TEMP_DIR, or connects to a running app with --url. Then:

1. idle latencies: one client, each call of the mix `--idle-rounds` times, nothing else running;
2. load: `--clients` threads, each with its own gradio_client, call a random mix of every endpoint
   (/sample with random seeds, /manifold, /interpolate, /per_scale, /likelihood, /erase_preview,
   /complete with few steps, /model_info, and where the app has them /mix_scales, /animate,
   /classify on mnist-cond, /ood, /completions with few steps) on `mnist` with digit uploads and the
   page's examples, and on `photos` with a real photograph (skimage.data) at its own resolution,
   for `--duration` seconds.
   Every result file is downloaded and checked (its length against the declared Content-Length).

Every `--interval` seconds it prints the calls so far, the failures, the server's RSS (VmRSS from
/proc) and the count and size of the files in its temporary folder; at the end: the failures with
their messages, latency percentiles (median, p95, max) overall and per call, the time spent waiting
in the queue, the largest queue position a client was told, and the RSS growth after the warm-up.

    python bench/soak.py --clients 8 --duration 600 --warmup 60        # the 10-minute soak
    python bench/soak.py --clients 4 --duration 60 --warmup 20         # a quick look
    MALLOC_ARENA_MAX=2 python bench/soak.py ...                        # the server inherits the environment
    python bench/soak.py --url http://127.0.0.1:7860/ --pid 1234 --temp-dir /tmp/gradio
    python bench/soak.py --clients 8 --duration 300 --endpoints /sample,/likelihood,/per_scale   # issue #27's mix

Exit status 1 when any call failed.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from explorer.runtime import free_port  # noqa: E402
import results  # noqa: E402  (bench/results.py: --record writes RESULTS.md)
EXAMPLES = ROOT / "assets" / "examples"
DIGITS = sorted((EXAMPLES / "mnist").glob("digit*.png"))
ENDPOINTS = ("/sample", "/manifold", "/interpolate", "/per_scale", "/likelihood", "/erase_preview", "/complete",
             "/model_info", "/mix_scales", "/animate", "/classify", "/ood", "/completions")  # those the app has


# ----------------------------------------------------------------------------- the server
def start_server(workdir: Path, extra_env: dict[str, str], app: Path = ROOT / "app.py",
                 timeout: float = 240.0) -> tuple[subprocess.Popen, str]:
    """`python app.py` on a free port with its own GRADIO_TEMP_DIR; returns the process and its URL
    once it answers."""
    port = free_port()
    env = dict(os.environ, GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port),
               GRADIO_TEMP_DIR=str(workdir / "gradio"), GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1",
               PYTHONUNBUFFERED="1", **extra_env)
    log = open(workdir / "server.log", "wb")  # noqa: SIM115 - open for the server's lifetime
    process = subprocess.Popen([sys.executable, str(app)], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the app exited with status {process.returncode}; see {workdir / 'server.log'}:\n"
                             + tail(workdir / "server.log"))
        try:
            if httpx.get(url + "gradio_api/info", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.kill()
    raise SystemExit(f"the app did not answer within {timeout:.0f} s; see {workdir / 'server.log'}")


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def memory_mib(pid: int | None) -> dict[str, float]:
    """The process's resident memory in MiB from /proc/PID/status: VmRSS (all), RssAnon (heap, tensors,
    stacks: what a leak or a cache grows) and RssFile (code and files mapped, paged in on first use)."""
    if pid is None:
        return {}
    fields = {"VmRSS:": "rss", "RssAnon:": "anon", "RssFile:": "file", "VmHWM:": "peak"}
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key = line.split(" ", 1)[0].split("\t", 1)[0]
            if key in fields:
                out[fields[key]] = int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return {}
    return out


def folder_usage(folder: Path | None) -> tuple[int, float] | None:
    """(number of files, MiB) under `folder`; None where unknown."""
    if folder is None:
        return None
    count, size = 0, 0
    for directory, _, files in os.walk(folder):
        for name in files:
            try:
                size += os.stat(os.path.join(directory, name)).st_size
                count += 1
            except OSError:  # deleted meanwhile by the app's clean-up
                pass
    return count, size / 2**20


# ----------------------------------------------------------------------------- the calls
@dataclass
class Record:
    endpoint: str
    model: str
    source: str  # the images: "upload", "example", "photo" or "-"
    phase: str  # "idle" or "load"
    start: float  # seconds since the soak began
    latency: float  # submit to result, seconds
    wait: float | None  # submit to processing start (time in the queue), seconds
    rank: int | None  # the largest queue position reported to the client
    ok: bool
    error: str = ""


class Inputs:
    """The files a call sends: digit uploads, digit examples (the page's example images, files already in
    the server's cache: what the browser sends after a click on an example), and a photograph."""

    def __init__(self, workdir: Path, url: str):
        from gradio_client import handle_file
        from skimage import data

        photo = workdir / "coffee.jpg"
        Image.fromarray(data.coffee()).save(photo, quality=90)  # 600x400 RGB, a real photograph
        self.photo = handle_file(str(photo))
        self.uploads = [handle_file(str(p)) for p in DIGITS]
        config = httpx.get(url + "config", timeout=60).raise_for_status().json()
        gallery = next(c["props"]["value"] for c in config["components"]
                       if c.get("props", {}).get("elem_id") == "per-scale-examples")
        self.examples = [{"path": item["image"]["path"], "meta": {"_type": "gradio.FileData"}} for item in gallery]
        if not self.examples:
            raise SystemExit("the page shows no example images for the default model")

    def digit(self, rng: random.Random, example: bool):
        return rng.choice(self.examples if example else self.uploads)


def make_call(rng: random.Random, inputs: Inputs,
              endpoints: tuple[str, ...] = ENDPOINTS) -> tuple[str, str, str, tuple]:
    """One call of the mix, (api_name, model, source of its images, arguments): every endpoint, mostly
    on `mnist` with uploaded digits or the page's examples, a third on `photos` with the photograph
    (at its own resolution where the call has that option)."""
    endpoint = rng.choice(endpoints)
    photos = rng.random() < 1 / 3 and endpoint != "/classify"
    model = "photos" if photos else "mnist-cond" if endpoint == "/classify" else "mnist"
    example = not photos and rng.random() < 0.4
    source = "photo" if photos else "example" if example else "upload"

    def image():
        return inputs.photo if photos else inputs.digit(rng, example)

    resolution = "own" if photos else "model"
    seed = rng.randrange(2**31)
    if endpoint == "/sample":
        return endpoint, model, "-", (model, rng.choice((16, 36, 64)), rng.uniform(0.5, 1.0), seed, False, "all",
                                      rng.random() < 0.3, 1.0, 0.5)
    if endpoint == "/manifold":
        return endpoint, model, source, (model, *[image() for _ in range(4)], "auto", "auto", 5)
    if endpoint == "/interpolate":
        return endpoint, model, source, (model, image(), image(), "auto", "auto", 8)
    if endpoint == "/per_scale":
        return endpoint, model, source, (model, image(), "auto", "auto", resolution, rng.choice(("resample", "zero")),
                                         1.0, seed)
    if endpoint == "/likelihood":
        return endpoint, model, source, (model, image(), "auto", "auto", resolution)
    if endpoint == "/erase_preview":
        return endpoint, model, source, (model, image(), "auto", 0.5, 1.0, 0.0, 1.0)
    if endpoint == "/complete":
        return endpoint, model, source, (model, image(), "auto", "auto", 0.5, 1.0, 0.0, 1.0, 10, 0.05, seed)
    if endpoint == "/mix_scales":
        return endpoint, model, source, (model, image(), image(), "auto", "auto", resolution)
    if endpoint == "/animate":
        return endpoint, model, source, (model, *[image() for _ in range(4)], "auto", "auto",
                                         rng.choice(("circle", "pair")), 12, 12, rng.choice(("gif", "webp")))
    if endpoint == "/classify":
        return endpoint, model, source, (model, image(), "auto")
    if endpoint == "/ood":
        return endpoint, model, source, (model, image(), "auto", "auto", rng.choice(("png", "webp")))
    if endpoint == "/completions":
        return endpoint, model, source, (model, image(), "auto", "auto", "rectangle", 0.5, 1.0, 0.0, 1.0, None,
                                         rng.choice(("sample", "maximize")), 2, 10, 3, 1.0, 0.05, seed)
    return endpoint, model, "-", (model,)


def result_urls(value) -> list[str]:
    """The URLs of every file in a result (images, gallery items, the .npy)."""
    if isinstance(value, dict):
        if isinstance(value.get("url"), str) and value.get("path"):
            return [value["url"]]
        return [u for v in value.values() for u in result_urls(v)]
    if isinstance(value, (list, tuple)):
        return [u for v in value for u in result_urls(v)]
    return []


def download(http: httpx.Client, result) -> None:
    """Fetch every file of a result; a short or empty body is a failure."""
    for url in result_urls(result):
        response = http.get(url)
        response.raise_for_status()
        declared = response.headers.get("content-length")
        if not response.content or (declared is not None and int(declared) != len(response.content)):
            raise RuntimeError(f"{url}: {len(response.content)} bytes, {declared} declared")


def call(client, http: httpx.Client, endpoint: str, args: tuple, timeout: float) -> tuple[float | None, int | None]:
    """Submit one call through gradio_client, follow its status until it ends (the time it waited in the
    queue, the largest queue position it was told), download its files. Raises on any failure."""
    from gradio_client.utils import Status

    began = time.monotonic()
    job = client.submit(*args, api_name=endpoint)
    wait, rank = None, None
    while not job.done():
        status = job.status()
        if status.code == Status.IN_QUEUE and status.rank is not None:
            rank = max(rank or 0, status.rank)
        if wait is None and status.code in (Status.PROCESSING, Status.PROGRESS, Status.ITERATING):
            wait = time.monotonic() - began
        if time.monotonic() - began > timeout:
            job.cancel()
            raise TimeoutError(f"no result within {timeout:.0f} s")
        time.sleep(0.01)
    download(http, job.result())
    return wait, rank


class AppFailure(RuntimeError):
    """The app answered a REST call with an error event."""


def rest_call(url: str, http: httpx.Client, endpoint: str, args: tuple, timeout: float) -> None:
    """One call through Gradio's REST API (POST /gradio_api/call/NAME, then its event stream), with files
    given as paths on the server, as the page sends a clicked example; then its files are downloaded."""
    posted = http.post(f"{url}gradio_api/call{endpoint}", json={"data": list(args)}).raise_for_status()
    event_id = posted.json()["event_id"]
    event, data = None, None
    with http.stream("GET", f"{url}gradio_api/call{endpoint}/{event_id}", timeout=timeout) as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                data = json.loads(line.split(":", 1)[1])
                break
    if event != "complete":
        message = data.get("error") if isinstance(data, dict) else data
        raise AppFailure(f"{message}" if message else "error without a message")
    download(http, data)


def describe(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:300]}" if text else type(error).__name__


# ----------------------------------------------------------------------------- the soak
class Soak:
    def __init__(self, url: str, pid: int | None, temp_dir: Path | None, inputs: Inputs, args):
        self.url, self.pid, self.temp_dir, self.inputs, self.args = url, pid, temp_dir, inputs, args
        named = httpx.get(url + "gradio_api/info", timeout=60).raise_for_status().json()["named_endpoints"]
        wanted = args.endpoints.split(",") if args.endpoints else ENDPOINTS
        unknown = [e for e in wanted if e not in ENDPOINTS]
        if unknown:
            raise SystemExit(f"--endpoints: unknown {' '.join(unknown)}; the mix knows {' '.join(ENDPOINTS)}")
        self.endpoints = tuple(e for e in wanted if e in named)
        missing = [e for e in wanted if e not in named]
        print(f"calls: {' '.join(self.endpoints)}" + (f" (the app has no {' '.join(missing)})" if missing else ""),
              flush=True)
        self.records: list[Record] = []
        self.samples: list[dict] = []
        self.lock = threading.Lock()
        self.origin = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self.origin

    def run_one(self, client, http, rng, phase: str, forced=None) -> None:
        endpoint, model, source, call_args = forced or make_call(rng, self.inputs, self.endpoints)
        start = self.now()
        try:
            if source == "example":
                rest_call(self.url, http, endpoint, call_args, self.args.call_timeout)
                wait, rank = None, None
            else:
                wait, rank = call(client, http, endpoint, call_args, self.args.call_timeout)
            record = Record(endpoint, model, source, phase, start, self.now() - start, wait, rank, True)
        except Exception as error:  # noqa: BLE001 - every failure is counted and shown
            record = Record(endpoint, model, source, phase, start, self.now() - start, None, None, False,
                            describe(error))
        with self.lock:
            self.records.append(record)

    def idle(self, rounds: int) -> None:
        """Every call of the mix (each endpoint on each model), one at a time."""
        from gradio_client import Client

        client = Client(self.url, verbose=False, download_files=False)
        rng = random.Random(self.args.seed)
        with httpx.Client(timeout=60) as http:
            for _ in range(rounds):
                for endpoint in self.endpoints:
                    for model in (("mnist-cond",) if endpoint == "/classify" else ("mnist", "photos")):
                        while True:
                            forced = make_call(rng, self.inputs, self.endpoints)
                            if forced[0] == endpoint and forced[1] == model and forced[2] != "example":
                                break
                        self.run_one(client, http, rng, "idle", forced)

    def client_loop(self, index: int, ready: threading.Barrier, go: threading.Event) -> None:
        from gradio_client import Client

        rng = random.Random(self.args.seed * 1000 + index + 1)
        try:
            client = Client(self.url, verbose=False, download_files=False)
        except Exception as error:  # noqa: BLE001
            with self.lock:
                self.records.append(Record("connect", "", "-", "load", self.now(), 0.0, None, None, False,
                                           describe(error)))
            ready.wait()
            return
        ready.wait()
        go.wait()
        with httpx.Client(timeout=60) as http:
            while time.monotonic() < self.deadline:
                self.run_one(client, http, rng, "load")

    def sample(self, label: str) -> dict:
        with self.lock:
            load = [r for r in self.records if r.phase == "load"]
        files = folder_usage(self.temp_dir)
        memory = memory_mib(self.pid)
        entry = {"t": round(self.now(), 1), "label": label, "rss_mib": memory.get("rss"),
                 "anon_mib": memory.get("anon"), "file_mib": memory.get("file"),
                 "files": files[0] if files else None, "files_mib": files[1] if files else None,
                 "calls": len(load), "failures": sum(not r.ok for r in load)}
        self.samples.append(entry)
        rss = (f"{entry['rss_mib']:6.0f} MiB (anon {entry['anon_mib']:5.0f}, file {entry['file_mib']:4.0f})"
               if entry["rss_mib"] is not None else "?")
        usage = f"{entry['files']:6d} files {entry['files_mib']:8.1f} MiB" if files else "files ?"
        print(f"[{entry['t']:7.1f} s] {label:<8} RSS {rss}  temp {usage}  calls {entry['calls']:6d}  "
              f"failures {entry['failures']}", flush=True)
        return entry

    def load(self) -> tuple[float, float]:
        """The load phase; returns its start and end (seconds since the soak began). The clock starts once
        every client is connected."""
        ready, go = threading.Barrier(self.args.clients + 1), threading.Event()
        threads = [threading.Thread(target=self.client_loop, args=(i, ready, go), daemon=True)
                   for i in range(self.args.clients)]
        for thread in threads:
            thread.start()
        ready.wait()
        began = self.now()
        self.deadline = time.monotonic() + self.args.duration
        go.set()
        self.sample("load")
        warmed = False
        while any(t.is_alive() for t in threads):
            time.sleep(min(0.5, self.args.interval))
            if self.now() - self.samples[-1]["t"] >= self.args.interval:
                label = "load"
                if not warmed and self.now() - began >= self.args.warmup:
                    warmed, label = True, "warm"
                self.sample(label)
        ended = self.now()
        self.sample("end")
        return began, ended


def percentiles(values: list[float]) -> str:
    if not values:
        return "-"
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return f"{statistics.median(values):6.2f} {p95:6.2f} {values[-1]:6.2f}"


def report(soak: Soak, began: float, ended: float, args) -> int:
    records = soak.records
    load = [r for r in records if r.phase == "load"]
    idle = [r for r in records if r.phase == "idle"]
    failures = [r for r in records if not r.ok]
    print(f"\n== {len(load)} calls from {args.clients} clients in {ended - began:.0f} s "
          f"({len(load) / max(ended - began, 1e-9):.2f} calls/s); {len(idle)} idle calls before")
    print(f"== failures: {len(failures)}")
    for message, count in collections.Counter(f"{r.endpoint} ({r.model}, {r.source}): {r.error}"
                                              for r in failures).most_common():
        print(f"   {count:5d} x {message}")

    print("\n== latency in seconds, median p95 max: idle (one call at a time), under load (submit to result, files"
          "\n   downloaded), of which waiting in the queue (submit to processing start) and processing (the rest);"
          "\n   ratio: median under load / median idle, and median processing under load / median idle")
    print(f"   {'call':<24}{'idle':>21}{'under load':>21}{'in the queue':>21}{'processing':>21}  calls  ratios")
    keys = sorted({(r.endpoint, r.model) for r in records if r.endpoint in ENDPOINTS})
    for key in [("all", None)] + keys:
        pick = (lambda r: True) if key[0] == "all" else (lambda r, k=key: (r.endpoint, r.model) == k)
        idle_ok = [r.latency for r in idle if r.ok and pick(r)]
        load_ok = [r.latency for r in load if r.ok and pick(r)]
        waits = [r.wait for r in load if r.ok and pick(r) and r.wait is not None]
        processing = [r.latency - r.wait for r in load if r.ok and pick(r) and r.wait is not None]
        ratio = ""
        if idle_ok and load_ok:
            ratio = f"{statistics.median(load_ok) / statistics.median(idle_ok):4.1f}x"
            if processing:
                ratio += f" {statistics.median(processing) / statistics.median(idle_ok):4.1f}x"
        name = "all" if key[0] == "all" else f"{key[0]} {key[1]}"
        print(f"   {name:<24}{percentiles(idle_ok):>21}{percentiles(load_ok):>21}{percentiles(waits):>21}"
              f"{percentiles(processing):>21}  {len(load_ok):5d}  {ratio}")
    ranks = [r.rank for r in load if r.rank is not None]
    if ranks:
        print(f"   queue positions shown to clients: up to {max(ranks)} ahead "
              f"({sum(1 for r in load if r.rank is not None)} of {len(load)} calls waited in the queue)")

    memory = [s for s in soak.samples if s["rss_mib"] is not None]
    if memory:
        print(f"\n== server RSS: {memory[0]['rss_mib']:.0f} MiB before the load (anon {memory[0]['anon_mib']:.0f}), "
              f"peak {max(s['rss_mib'] for s in memory):.0f} MiB, {memory[-1]['rss_mib']:.0f} MiB at the end "
              f"(anon {memory[-1]['anon_mib']:.0f}, file {memory[-1]['file_mib']:.0f})")
        warm = next((i for i, s in enumerate(memory) if s["label"] == "warm"), len(memory))
        after = memory[warm:]  # from the first sample after the warm-up
        if len(after) >= 2:
            t = np.array([s["t"] for s in after])
            for key, name in (("rss_mib", "RSS"), ("anon_mib", "anonymous")):
                m = np.array([s[key] for s in after])
                slope = float(np.polyfit(t, m, 1)[0]) * 60
                print(f"   {name} after the {args.warmup:.0f} s warm-up: {m[0]:.0f} -> {m[-1]:.0f} MiB "
                      f"({m[-1] - m[0]:+.0f} MiB over {t[-1] - t[0]:.0f} s; fitted slope {slope:+.1f} MiB/min)")
    files = [s for s in soak.samples if s["files"] is not None]
    if files:
        print(f"== temporary files: {files[0]['files']} ({files[0]['files_mib']:.1f} MiB) before the load, "
              f"{files[-1]['files']} ({files[-1]['files_mib']:.1f} MiB) at the end")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "endpoints": soak.endpoints, "samples": soak.samples,
                                               "records": [asdict(r) for r in records]}, indent=1, default=str))
        print(f"== every call and sample written to {args.json}")
    return 1 if failures else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--duration", type=float, default=600, help="seconds of load (default 600)")
    parser.add_argument("--warmup", type=float, default=60,
                        help="seconds of load before the RSS growth is measured (default 60)")
    parser.add_argument("--interval", type=float, default=15, help="seconds between RSS/file samples (default 15)")
    parser.add_argument("--idle-rounds", type=int, default=2,
                        help="rounds of every call with nothing else running, before the load (default 2; 0: none)")
    parser.add_argument("--url", help="a running app instead of starting `python app.py`")
    parser.add_argument("--pid", type=int, help="with --url: the app's process id, for its RSS")
    parser.add_argument("--temp-dir", type=Path, help="with --url: the app's GRADIO_TEMP_DIR, for its files")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable for the started app (repeatable)")
    parser.add_argument("--app", type=Path, default=ROOT / "app.py",
                        help="the script to start (default app.py; e.g. a wrapper that adds diagnostics)")
    parser.add_argument("--call-timeout", type=float, default=300, help="seconds before a call counts as failed")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--endpoints", help="comma-separated calls of the mix (default: every one the app has), "
                                            "e.g. /sample,/likelihood,/per_scale")
    parser.add_argument("--json", help="write every call and sample to this file")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="realnvp-soak-"))
    process = None
    if args.url:
        url = args.url if args.url.endswith("/") else args.url + "/"
        pid, temp_dir = args.pid, args.temp_dir
    else:
        extra = dict(item.split("=", 1) for item in args.server_env)
        t0 = time.monotonic()
        process, url = start_server(workdir, extra, args.app)
        pid, temp_dir = process.pid, workdir / "gradio"
        print(f"started `python {args.app.name}` (pid {pid}) at {url} in {time.monotonic() - t0:.0f} s; "
              f"log {workdir / 'server.log'}", flush=True)
    try:
        inputs = Inputs(workdir, url)
        soak = Soak(url, pid, temp_dir, inputs, args)
        soak.sample("start")
        if args.idle_rounds:
            soak.idle(args.idle_rounds)
            soak.sample("idle")
        began, ended = soak.load()
        status = report(soak, began, ended, args)
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
            shutil.rmtree(workdir / "gradio", ignore_errors=True)  # uploads and results; the log stays
    if process is not None:
        log = (workdir / "server.log").read_text(errors="replace")
        print(f"== server log {workdir / 'server.log'}: {log.count('Traceback')} tracebacks, "
              f"{log.count('unexpected error in')} unexpected errors in handlers")
    return status


if __name__ == "__main__":
    sys.exit(results.run_recorded('The app under load', main))

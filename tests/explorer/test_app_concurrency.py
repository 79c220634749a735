"""Several clients sending identical /likelihood and /per_scale requests at once (issue #11): every
result file arrives whole, and a file once served never changes.

Identical inputs give byte-identical results. When the handlers returned arrays, Gradio saved each
one under a name derived from its content, rewriting that file in place for every identical request
while earlier responses were still streaming it: a reader got fewer bytes than the Content-Length it
had been promised (`h11 LocalProtocolError: Too little data for declared Content-Length` on the
server, a broken download on the client). Results now go to files of their own, written once under
a temporary name and renamed into place.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from app_env import import_app

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")]

app = import_app()
from gradio_client import Client, handle_file  # noqa: E402

DIGIT = str(Path(app.__file__).parent / "assets" / "examples" / "mnist" / "digit7_0.png")
REQUESTERS = 4  # clients sending requests (half /likelihood, half /per_scale)
READERS = 3  # clients downloading every result file seen so far, again and again
SECONDS = 6.0


@pytest.fixture(scope="module")
def url(app_url):
    return app_url


def result_urls(api_name: str, result) -> list[str]:
    if api_name == "/likelihood":
        heat, _, _, hist, _, bits, *_ = result  # later outputs (sizes) hold no file
        return [f["url"] for f in (heat, hist, bits)]
    items, _ = result
    return [item["image"]["url"] for item in items]


def test_identical_requests_from_several_clients_all_arrive_whole(url):
    deadline = time.monotonic() + SECONDS
    seen: dict[str, bytes] = {}  # file URL -> its bytes at the first download
    failures, finished, lock = [], {"/likelihood": 0, "/per_scale": 0}, threading.Lock()

    def download(http: httpx.Client, file_url: str) -> None:
        try:
            data = http.get(file_url).raise_for_status().content
        except httpx.HTTPError as error:  # a response cut short arrives as RemoteProtocolError
            raise AssertionError(f"{file_url}: {type(error).__name__}: {error}") from None
        with lock:
            first = seen.setdefault(file_url, data)
        assert data == first, f"{file_url} changed after it was served ({len(first)} then {len(data)} bytes)"

    def requester(index: int) -> None:
        client = Client(url, verbose=False, download_files=False, ssl_verify=False)
        api_name = "/likelihood" if index % 2 == 0 else "/per_scale"
        extra = () if api_name == "/likelihood" else ("resample", 1.0, 0)
        with httpx.Client() as http:
            while time.monotonic() < deadline:
                result = client.predict("mnist", handle_file(DIGIT), "auto", "auto", "model", *extra,
                                        api_name=api_name)
                for file_url in result_urls(api_name, result):
                    download(http, file_url)
                with lock:
                    finished[api_name] += 1

    def reader(_: int) -> None:
        with httpx.Client() as http:
            while time.monotonic() < deadline:
                with lock:
                    urls = list(seen)
                for file_url in urls:
                    download(http, file_url)
                time.sleep(0.001)

    def guarded(target, index):
        try:
            target(index)
        except Exception as error:  # noqa: BLE001 - collected and reported below
            with lock:
                failures.append(f"{target.__name__} {index}: {error}")

    threads = [threading.Thread(target=guarded, args=(requester, i)) for i in range(REQUESTERS)]
    threads += [threading.Thread(target=guarded, args=(reader, i)) for i in range(READERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + 120)
    assert not any(thread.is_alive() for thread in threads)
    assert not failures, failures[:5]
    assert finished["/likelihood"] >= 2 and finished["/per_scale"] >= 2, finished

"""HTML size and server time of the review page's lists on a large library (``make bench-ui``).

Builds a library of ``--groups`` generated duplicate groups (``synthetic_library``; real
files, real hashes, no embeddings) unless ``--library`` names one already built, starts
``photodup ui`` on it as a separate process on a free loopback port, and measures with a
keep-alive HTTP client: the first list page (grouping included), then each list page
``--repeat`` times (time to the last byte over loopback, median and 95th percentile),
the group view, and "not duplicates" followed by undo (both regroup the library).
Prints a Markdown table; ``--json`` also writes the figures to a file.

    python -m photodup.ui.bench_pages --groups 10000
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from photodup.processes import free_port
from photodup.ui.synthetic_library import build_group_library

#: The list pages measured: the first, deep and last pages, other orders, the largest size.
PAGES = (
    ("first page", "/groups"),
    ("page 100", "/groups?page=100"),
    ("last page", "/groups?page=LAST"),
    ("least similar first", "/groups?sort=similarity&order=asc"),
    ("by path, page 150", "/groups?sort=path&page=150"),
    ("200 per page", "/groups?per_page=200"),
)


@dataclass(frozen=True)
class Timing:
    page: str
    url: str
    status: int
    html_bytes: int
    images: int
    median_ms: float
    p95_ms: float


@dataclass(frozen=True)
class BenchResult:
    groups: int
    repeat: int
    cold_first_page_s: float
    dismiss_s: float
    undo_s: float
    rss_mib_at_start: float
    rss_mib_with_groups: float
    pages: list[Timing]


def _find(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    if found is None:
        raise AssertionError(f"no {pattern!r} on the page")
    return found.group(1)


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _time(client: httpx.Client, label: str, url: str, repeat: int) -> Timing:
    times, reply = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        reply = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    assert reply is not None
    images = len(re.findall(r"<img [^>]*/thumb", reply.text))
    p95 = statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0]
    return Timing(
        label, url, reply.status_code, len(reply.content), images, statistics.median(times), p95
    )


def _start(library: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOTODUP_", "INFERENCE_"))}
    # Reviewing needs no backend; a closed port is shown as "not reachable".
    env["PHOTODUP_UI_BACKENDS"] = f"pytorch=http://127.0.0.1:{free_port()}"
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "photodup.cli", "ui", "--library", str(library),
             "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def _wait_ready(client: httpx.Client, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"photodup ui exited ({proc.returncode}):\n{log.read_text()}")
        try:
            if client.get("/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"photodup ui did not answer within 120 s:\n{log.read_text()}")


def _csrf(client: httpx.Client, url: str) -> str:
    return _find(r'name="csrf-token" content="([^"]+)"', client.get(url).text)


def _action_seconds(client: httpx.Client, key: str) -> tuple[float, float]:
    """Seconds for "not duplicates" and for its undo, each with the page it leads to.

    Both change the groups, so one of the two requests regroups the whole library.
    """
    token = _csrf(client, f"/groups/{key}")
    seconds = []
    for url, form in ((f"/groups/{key}/dismiss", {}), ("/undo", {"next": "/groups"})):
        started = time.perf_counter()
        reply = client.post(url, data={"csrf_token": token, **form})
        assert reply.status_code == 303, reply.text
        assert client.get(reply.headers["location"]).status_code == 200
        seconds.append(time.perf_counter() - started)
    return seconds[0], seconds[1]


def run(library: Path, repeat: int) -> BenchResult:
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="photodup-bench-ui-", suffix=".log")[1])
    proc = _start(library, port, log)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300) as client:
            _wait_ready(client, proc, log)
            rss_before = _rss_mib(proc.pid)
            started = time.perf_counter()
            first = client.get("/groups")
            cold_s = time.perf_counter() - started
            assert first.status_code == 200, first.text
            pages = int(_find(r'data-pages="(\d+)"', first.text))
            # A group that is not all byte-identical, so "not duplicates" applies to it.
            near = client.get("/groups?sort=similarity&order=asc").text
            key = _find(r'data-key="([0-9a-f]+)" data-kind="(?:near|burst)"', near)
            groups = int(_find(r'data-total="(\d+)"', first.text))
            timings = [
                _time(client, label, url.replace("LAST", str(pages)), repeat)
                for label, url in PAGES
            ]
            timings.append(_time(client, "group view", f"/groups/{key}", repeat))
            rss_after = _rss_mib(proc.pid)
            dismiss_s, undo_s = _action_seconds(client, key)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return BenchResult(groups, repeat, cold_s, dismiss_s, undo_s, rss_before, rss_after, timings)


def report(result: BenchResult) -> str:
    lines = [
        f"{result.groups:,} groups; each page requested {result.repeat} times "
        "(time to the last byte over loopback)",
        "",
        "| page | HTML | thumbnails | median | p95 |",
        "|---|---:|---:|---:|---:|",
    ]
    for t in result.pages:
        lines.append(
            f"| {t.page} (`{t.url}`) | {t.html_bytes / 1000:.1f} KB | {t.images} "
            f"| {t.median_ms:.1f} ms | {t.p95_ms:.1f} ms |"
        )
    lines += [
        "",
        "- first list page after start (grouping the library included): "
        f"{result.cold_first_page_s:.2f} s",
        '- "not duplicates", then undo, each with the page it leads to (both regroup): '
        f"{result.dismiss_s:.2f} s and {result.undo_s:.2f} s",
        f"- server memory (RSS): {result.rss_mib_at_start:.0f} MiB at start, "
        f"{result.rss_mib_with_groups:.0f} MiB with the groups cached",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m photodup.ui.bench_pages", description=__doc__)
    parser.add_argument("--groups", type=int, default=10_000, help="groups to generate")
    parser.add_argument("--library", type=Path, help="a library built before (skips building)")
    parser.add_argument("--repeat", type=int, default=20, help="requests per page")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="photodup-bench-ui-") as tmp:
        library = args.library
        if library is None:
            library = Path(tmp) / "library"
            built = build_group_library(library, args.groups, workers=os.cpu_count() or 2)
            print(
                f"built {built.groups:,} groups ({built.photos:,} files) in {built.seconds:.1f} s"
            )
        result = run(library, args.repeat)
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(asdict(result), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The Compose stack in a real Docker engine: every profile built, brought up, used, taken down.

Minutes long (a cold build downloads torch) and needs a running engine or root, so it is marked
``engine`` and runs only with PHOTODUP_ENGINE_TESTS=1, as ``make compose-smoke`` sets. It runs
the Makefile's own targets from a clean copy of the checkout, under the Compose project
``photodup-smoke`` on free ports, so a developer's stack and volumes are never touched.
Which images ran and how long each step took are printed at the end (docs/deploy.md).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from deploy.engine import (
    LABEL,
    PROJECT,
    EngineUnavailable,
    Images,
    clean_checkout,
    ensure_engine,
    prepare_images,
    run,
    timed,
)

pytestmark = [
    pytest.mark.engine,
    # A cold first build (torch) runs inside the first test's setup: minutes, not seconds.
    pytest.mark.timeout(3600),
    pytest.mark.skipif(
        os.environ.get("PHOTODUP_ENGINE_TESTS") != "1",
        reason="real-engine test: `make compose-smoke` (or PHOTODUP_ENGINE_TESTS=1)",
    ),
]
ROOT = os.getuid() == 0
NAMED_VOLUMES = {f"{PROJECT}_{name}" for name in ("model_repository", "weight_cache", "ui_data")}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Stack:
    """The Makefile's targets and Compose, run in the clean checkout with the smoke's settings."""

    def __init__(self, cwd: Path, images: Images, tmp: Path) -> None:
        self.cwd, self.images, self.tmp = cwd, images, tmp
        self.ports = {
            name: free_port()
            for name in (
                "UI_PORT",
                "SERVICE_PORT",
                "TRITON_HTTP_PORT",
                "TRITON_GRPC_PORT",
                "TRITON_METRICS_PORT",
            )
        }
        self.env = {**images.env, **{k: str(v) for k, v in self.ports.items()}}
        self.times = images.times

    def make(self, target: str, timed_as: str | None = None, **variables: str) -> str:
        """Run ``make target``; must succeed. Returns its output."""
        args = ["make", "--no-print-directory", target]
        done = timed(self.times, timed_as or target, args, {**self.env, **variables}, self.cwd)
        return done.stdout + done.stderr

    def make_fails(self, target: str, **variables: str) -> str:
        done = run(
            ["make", "--no-print-directory", target],
            cwd=self.cwd,
            env={**os.environ, **self.env, **variables},
        )
        assert done.returncode != 0, f"make {target} should have failed:\n{done.stdout}"
        return done.stdout + done.stderr

    def compose_both(self, *args: str, **variables: str) -> tuple[str, str]:
        """Run Compose; must succeed. Returns (stdout, stderr)."""
        command = [self.env["COMPOSE"], "-f", "docker-compose.yml", *args]
        done = run(command, cwd=self.cwd, env={**os.environ, **self.env, **variables})
        assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout}{done.stderr}"
        return done.stdout, done.stderr

    def compose(self, *args: str, **variables: str) -> str:
        return self.compose_both(*args, **variables)[0]

    def leftovers(self) -> list[str]:
        found = []
        for kind in ("ps -a", "network ls"):
            out = run(["docker", *kind.split(), "-q", "--filter", LABEL]).stdout.split()
            found += [f"{kind.split()[0]} {name}" for name in out]
        return found

    def volumes(self) -> set[str]:
        return set(run(["docker", "volume", "ls", "-q"]).stdout.split())

    def url(self, port: str, path: str) -> str:
        return f"http://127.0.0.1:{self.ports[port]}{path}"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("smoke")
    try:
        how = ensure_engine(tmp / "dockerd.log")
    except EngineUnavailable as exc:
        pytest.fail(f"no Docker engine: {exc}")
    checkout = clean_checkout(tmp_path_factory.mktemp("checkout"))
    images = prepare_images(checkout)
    images.notes.insert(0, f"engine: {how}")
    smoke = Stack(checkout, images, tmp)
    # A clean slate: nothing of an earlier, interrupted run.
    smoke.compose("--profile", "pytorch", "--profile", "triton", "--profile", "bench", "down", "-v")
    profiles = ("--profile", "pytorch", "--profile", "triton", "--profile", "bench")
    timed(
        smoke.times,
        "build deployables",
        [smoke.env["COMPOSE"], *profiles, "build"],
        smoke.env,
        checkout,
    )
    yield smoke
    smoke.compose(*profiles, "down", "-v", "--remove-orphans")
    report = {"images": images.env, "notes": images.notes, "seconds": smoke.times}
    out = Path(os.environ.get("PHOTODUP_SMOKE_REPORT", tmp / "compose-smoke.json"))
    out.write_text(json.dumps(report, indent=2))
    print("\n== compose-smoke ==")
    for line in images.notes:
        print(f"  {line}")
    for name, seconds in smoke.times.items():
        print(f"  {name:<40} {seconds:>7.1f} s")
    print(f"  (written to {out})")


@pytest.fixture(autouse=True)
def nothing_left_running(stack: Stack) -> Iterator[None]:
    """A test that fails half-way still takes its stack down, so the next starts clean."""
    yield
    if stack.leftovers():
        profiles = ["--profile", "pytorch", "--profile", "triton", "--profile", "bench"]
        down = [stack.env["COMPOSE"], *profiles, "down", "--remove-orphans"]
        run(down, cwd=stack.cwd, env={**os.environ, **stack.env})


def sample_library(dest: Path, uid: int, gid: int) -> Path:
    from photodup.finder.sample import COLOUR_PHOTOS, DISTRACTORS, build_sample_library

    build_sample_library(
        dest,
        photos=COLOUR_PHOTOS[:3],
        kinds=("jpeg_q70", "resize_50", "crop_15"),
        distractors=DISTRACTORS[:2],
    )
    if ROOT:
        for path in (dest, *dest.rglob("*")):
            os.chown(path, uid, gid)
    return dest


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return str(answer.read().decode())


def scan_and_group(stack: Stack, uid: int, gid: int, **variables: str) -> int:
    """Scan /photos from inside the ui container; returns how many photos were embedded."""
    # The summary table goes to stderr.
    scan = ("exec", "-T", "ui", "photodup", "scan", "/photos", "--no-progress")
    out = "".join(stack.compose_both(*scan, **variables))
    embedded = int(re.search(r"embedded now\s*\S\s*(\d+)", out).group(1))  # type: ignore[union-attr]
    assert embedded > 0, out
    groups = json.loads(
        stack.compose("exec", "-T", "ui", "photodup", "groups", "/photos", "--json", **variables)
    )
    assert groups["count"] > 0 and all(len(g["members"]) > 1 for g in groups["groups"]), groups
    # Ownership: the index in the named volume and a file in the bind-mounted library.
    owner = stack.compose("exec", "-T", "ui", "stat", "-c", "%u:%g", "/data/index.db", **variables)
    assert owner.strip() == f"{uid}:{gid}"
    stack.compose(
        "exec", "-T", "ui", "python", "-c", "open('/photos/.smoke', 'w').write('x')", **variables
    )
    return embedded


def docker_time(value: str) -> datetime:
    """Docker's RFC 3339 times carry up to 9 fraction digits; datetime takes 6."""
    match = re.fullmatch(r"(.+T\d\d:\d\d:\d\d)(?:\.(\d+))?Z", value)
    assert match is not None, value
    fraction = (match.group(2) or "0")[:6].ljust(6, "0")
    return datetime.fromisoformat(f"{match.group(1)}.{fraction}+00:00")


def started_in_order(exporter: str, backend: str, ui: str) -> None:
    """The backend started after the exporter had finished, the ui after the backend."""
    state = {}
    for service in (exporter, backend, ui):
        fmt = "{{.State.StartedAt}} {{.State.FinishedAt}}"
        out = run(["docker", "inspect", "-f", fmt, f"{PROJECT}-{service}-1"]).stdout.split()
        state[service] = [docker_time(t) for t in out]
    assert state[exporter][1] <= state[backend][0] < state[ui][0], state


def backend_down_is_named(stack: Stack, service: str, url: str, **variables: str) -> None:
    stack.compose("stop", service, **variables)
    deadline = time.monotonic() + 30
    page = ""
    while time.monotonic() < deadline:
        page = get(stack.url("UI_PORT", "/"))
        if "not reachable" in page:
            break
        time.sleep(2)
    assert "not reachable" in page and url in page, page[-2000:]


def down_leaves_only_named_volumes(stack: Stack, before: set[str]) -> None:
    stack.make("down")
    assert stack.leftovers() == []
    new = stack.volumes() - before
    assert new <= NAMED_VOLUMES, f"anonymous volumes left: {new - NAMED_VOLUMES}"
    assert {f"{PROJECT}_model_repository", f"{PROJECT}_ui_data"} <= stack.volumes()
    # The next profile starts with a fresh index (the repository and weights stay shared).
    run(["docker", "volume", "rm", f"{PROJECT}_ui_data"])


def test_bad_input_gets_a_clear_message_and_starts_nothing(stack: Stack) -> None:
    out = stack.make_fails("up-pytorch", PHOTOS_DIR=str(stack.tmp / "missing"))
    assert f"PHOTOS_DIR={stack.tmp / 'missing'}: no such folder" in out
    assert stack.leftovers() == []
    if ROOT:
        locked = stack.tmp / "locked"
        locked.mkdir(mode=0o700)
        out = stack.make_fails(
            "up-pytorch", PHOTOS_DIR=str(locked), HOST_UID="10001", HOST_GID="10001"
        )
        assert "the ui runs as uid 10001:10001" in out and "cannot read it" in out, out
    library = sample_library(stack.tmp / "bad-input", os.getuid(), os.getgid())
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", stack.ports["UI_PORT"]))
        taken.listen()
        out = stack.make_fails("up-pytorch", PHOTOS_DIR=str(library))
    assert f"port {stack.ports['UI_PORT']} on 127.0.0.1 (UI_PORT, the review page)" in out, out
    assert stack.leftovers() == []
    out = stack.make_fails("up-pytorch", PHOTOS_DIR=str(library), PRETRAINED="not-a-tag")
    assert "error: service exporter exited with code 1" in out, out
    assert "'not-a-tag'" in out and "not started (a dependency failed): " in out, out
    assert "inference-pytorch" in out.split("not started")[1].splitlines()[0], out
    assert stack.leftovers() == []


def test_pytorch_profile(stack: Stack) -> None:
    # The image's own uid (what Compose uses without make), as a host uid would be.
    uid, gid = (10001, 10001) if ROOT else (os.getuid(), os.getgid())
    library = sample_library(stack.tmp / "library-pytorch", uid, gid)
    before = stack.volumes()
    ids = {"PHOTOS_DIR": str(library), "HOST_UID": str(uid), "HOST_GID": str(gid)}
    out = stack.make("up-pytorch", "start pytorch (make up-pytorch)", **ids)
    assert "ready: the review page" in out
    assert json.loads(get(stack.url("SERVICE_PORT", "/info")))
    started_in_order("exporter", "inference-pytorch", "ui")
    scan_and_group(stack, uid, gid, **ids)
    assert (library / ".smoke").stat().st_uid == uid
    repo_owner = run(
        [
            "docker",
            "run",
            "--rm",
            "-v",
            f"{PROJECT}_model_repository:/m",
            stack.images.python_image,
            "stat",
            "-c",
            "%u",
            "/m/openclip_vit_b32/config.pbtxt",
        ]
    ).stdout.strip()
    assert repo_owner == "10001"
    backend_down_is_named(stack, "inference-pytorch", "http://inference-pytorch:8002", **ids)
    down_leaves_only_named_volumes(stack, before)


def test_triton_profile(stack: Stack) -> None:
    # An arbitrary host uid, in no passwd of any image.
    uid, gid = (4321, 4321) if ROOT else (os.getuid(), os.getgid())
    library = sample_library(stack.tmp / "library-triton", uid, gid)
    before = stack.volumes()
    ids = {"PHOTOS_DIR": str(library), "HOST_UID": str(uid), "HOST_GID": str(gid)}
    ui = {"UI_BACKEND": "triton", "UI_INFERENCE_URL": "http://triton:8000"}
    out = stack.make("up-triton", "start triton (make up-triton)", **ids)
    assert "ready: Triton HTTP" in out
    started_in_order("exporter", "triton", "ui")
    embedded = scan_and_group(stack, uid, gid, **ids, **ui)
    assert (library / ".smoke").stat().st_uid == uid
    stats = json.loads(get(stack.url("TRITON_HTTP_PORT", "/v2/models/openclip_vit_b32/stats")))
    (model,) = stats["model_stats"]
    assert model["inference_count"] >= embedded > 0, model
    metrics = get(stack.url("TRITON_METRICS_PORT", "/metrics"))
    count = re.search(r'^nv_inference_count\{model="openclip_vit_b32"[^}]*\} (\d+)', metrics, re.M)
    assert count is not None and int(count.group(1)) >= embedded, metrics[:2000]
    backend_down_is_named(stack, "triton", "http://triton:8000", **ids, **ui)
    down_leaves_only_named_volumes(stack, before)


def test_bench_profile(stack: Stack) -> None:
    results = stack.tmp / "bench-results"
    results.mkdir()
    uid, gid = os.getuid(), os.getgid()
    before = stack.volumes()
    stack.make(
        "bench",
        "bench --quick (make bench)",
        BENCH_RESULTS_DIR=str(results),
        BENCH_EXTRA_ARGS="--quick",
    )
    (report,) = results.glob("*/report.md")
    assert report.stat().st_uid == uid and report.stat().st_gid == gid
    assert "Triton" in report.read_text()
    assert stack.leftovers() == []
    assert stack.volumes() - before <= NAMED_VOLUMES


def test_baked_triton_image(stack: Stack) -> None:
    """services/triton/Dockerfile: the repository inside, healthy on its own with -p 8003:8000."""
    stack.make(
        "triton-image", "build baked triton (make triton-image)", TRITON_IMAGE_INSTANCE_KIND="cpu"
    )
    port = free_port()
    name = f"{PROJECT}-baked-triton"
    start = time.monotonic()
    run(
        [
            "docker",
            "run",
            "-d",
            "--name",
            name,
            "--label",
            LABEL.removeprefix("label="),
            "-p",
            f"127.0.0.1:{port}:8000",
            "photodup-triton:dev",
        ],
        timeout=60,
    )
    try:
        status = ""
        while time.monotonic() - start < 180 and status != "healthy":
            time.sleep(2)
            health = run(["docker", "inspect", "-f", "{{.State.Health.Status}}", name])
            status = health.stdout.strip()
        stack.times["start baked triton (healthy)"] = round(time.monotonic() - start, 1)
        assert status == "healthy", run(["docker", "logs", name]).stderr[-3000:]
        assert get(f"http://127.0.0.1:{port}/v2/health/ready") == ""
        config = json.loads(get(f"http://127.0.0.1:{port}/v2/models/openclip_vit_b32/config"))
        assert config["name"] == "openclip_vit_b32"
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
    assert stack.leftovers() == []

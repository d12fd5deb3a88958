"""The wheel's tritonserver started by photodup.triton: ready, serving, and clear failures.

(No ``__init__.py`` in this folder: with ``pythonpath = tests`` a ``triton`` package here would
shadow OpenAI's ``triton``, which torch imports.)
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from fixtures.models import copy_repository, none_export_options
from fixtures.triton import start_triton
from photodup import contract
from photodup.export import ExportOptions, export_repository
from photodup.export.triton_config import render_config
from photodup.processes import free_port
from photodup.triton import LocalTriton, TritonLaunchError, TritonPorts, inspect_repository

MODEL = contract.TRITON_MODEL_NAME


def _ports() -> TritonPorts:
    return TritonPorts(http=free_port(), grpc=free_port(), metrics=free_port())


def test_server_reports_the_exported_model(triton_server: LocalTriton) -> None:
    base = triton_server.http_url
    assert httpx.get(f"{base}/v2/health/ready", timeout=5).status_code == 200
    config = httpx.get(f"{base}/v2/models/{MODEL}/config", timeout=5).json()
    assert config["backend"] == "python"
    assert config["max_batch_size"] == contract.MAX_BATCH_SIZE
    assert [i["name"] for i in config["input"]] == [contract.INPUT_NAME]
    assert [o["name"] for o in config["output"]] == [contract.OUTPUT_NAME]
    metrics = httpx.get(triton_server.metrics_url, timeout=5).text
    assert "nv_inference_count" in metrics


def test_python_model_returns_unit_vectors(triton_server: LocalTriton) -> None:
    client = httpclient.InferenceServerClient(triton_server.http_url.removeprefix("http://"))
    try:
        x = np.random.default_rng(0).standard_normal((3, *contract.INPUT_SHAPE), dtype=np.float32)
        tensor = httpclient.InferInput(contract.INPUT_NAME, list(x.shape), "FP32")
        tensor.set_data_from_numpy(x, binary_data=True)
        result = client.infer(MODEL, [tensor])
        out = result.as_numpy(contract.OUTPUT_NAME)
        assert out.shape == (3, contract.EMBED_DIM)
        np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
        bad = np.zeros((1, 3, 100, 224), dtype=np.float32)
        tensor = httpclient.InferInput(contract.INPUT_NAME, list(bad.shape), "FP32")
        tensor.set_data_from_numpy(bad, binary_data=True)
        with pytest.raises(InferenceServerException, match="unexpected shape"):
            client.infer(MODEL, [tensor])
    finally:
        client.close()


def test_missing_repository_is_explained(tmp_path: Path) -> None:
    with pytest.raises(TritonLaunchError, match=r"does not exist.*photodup export"):
        LocalTriton(tmp_path / "nowhere", _ports()).start()


def test_empty_repository_is_explained(tmp_path: Path) -> None:
    with pytest.raises(TritonLaunchError, match="holds no model"):
        inspect_repository(tmp_path)


def test_model_without_version_is_explained(tmp_path: Path) -> None:
    (tmp_path / MODEL).mkdir()
    (tmp_path / MODEL / "config.pbtxt").write_text(
        render_config(ExportOptions(triton_backend="python"))
    )
    with pytest.raises(TritonLaunchError, match="no version directory"):
        inspect_repository(tmp_path)


def test_onnxruntime_repository_is_refused(tmp_path: Path) -> None:
    (tmp_path / MODEL / "1").mkdir(parents=True)
    config = render_config(ExportOptions(triton_backend="onnxruntime", instance_kind="cpu"))
    (tmp_path / MODEL / "config.pbtxt").write_text(config)
    with pytest.raises(TritonLaunchError, match=r"NGC Triton container.*--triton-backend python"):
        inspect_repository(tmp_path)


def test_a_server_that_cannot_start_shows_its_log(model_repository: Path, tmp_path: Path) -> None:
    """A port already taken makes tritonserver exit; the error carries Triton's own words."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ports = TritonPorts(http=taken.getsockname()[1], grpc=free_port(), metrics=free_port())
        server = LocalTriton(model_repository, ports, log_path=tmp_path / "triton.log")
        server.start()
        try:
            with pytest.raises(TritonLaunchError, match="exited with code") as err:
                server.wait_ready(120)
        finally:
            server.stop()
    assert "HTTP" in str(err.value) or "address" in str(err.value).lower()
    assert str(tmp_path / "triton.log") in str(err.value)


def test_new_version_is_hot_swapped(model_repository: Path, tmp_path: Path) -> None:
    """With --poll, `photodup export --new-version` is picked up by a running server."""
    repo = copy_repository(model_repository, tmp_path / "repo")
    server = start_triton(repo, tmp_path, poll_repository_s=1)
    try:
        url = f"{server.http_url}/v2/models/{MODEL}/versions/2/ready"
        assert httpx.get(url, timeout=5).status_code != 200
        assert export_repository(none_export_options(repo, new_version=True)).version == 2
        deadline = 120.0
        started = time.monotonic()
        while httpx.get(url, timeout=5).status_code != 200:
            assert time.monotonic() - started < deadline, server.log_tail()
            time.sleep(0.5)
        # Triton's default version policy serves the latest version only.
        old = f"{server.http_url}/v2/models/{MODEL}/versions/1/ready"
        while httpx.get(old, timeout=5).status_code == 200:
            assert time.monotonic() - started < deadline, server.log_tail()
            time.sleep(0.5)
    finally:
        server.stop()


def _stubs_of(pgid: int) -> list[int]:
    """Live (not zombie) Python-backend stubs in process group ``pgid``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            state, _ppid, pgrp = (proc / "stat").read_text().rsplit(") ", 1)[1].split()[:3]
            cmdline = (proc / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue  # exited while we looked
        if int(pgrp) == pgid and state != "Z" and b"triton_python_backend_stub" in cmdline:
            found.append(int(proc.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _keep_busy(url: str, stop: threading.Event) -> None:
    """Full batches back to back until the server goes away: the stub is mid-inference."""
    client = httpclient.InferenceServerClient(url.removeprefix("http://"), network_timeout=60)
    x = np.zeros((contract.MAX_BATCH_SIZE, *contract.INPUT_SHAPE), dtype=np.float32)
    tensor = httpclient.InferInput(contract.INPUT_NAME, list(x.shape), "FP32")
    tensor.set_data_from_numpy(x, binary_data=True)
    try:
        while not stop.is_set():
            client.infer(MODEL, [tensor])
    except Exception:  # the connection dies with the server: that is the point
        pass


def test_stubs_die_with_a_tritonserver_killed_by_sigkill(
    model_repository: Path, tmp_path: Path
) -> None:
    """D12: kill -9 of a busy tritonserver used to leave its Python stub running for
    minutes (measured: still alive after 40 s without the launcher's reaper)."""
    server = start_triton(model_repository, tmp_path)
    stop = threading.Event()
    load = [threading.Thread(target=_keep_busy, args=(server.http_url, stop)) for _ in range(2)]
    try:
        assert server.process is not None
        pid = server.process.pid
        assert os.getpgid(pid) == pid  # a process group of its own
        stubs = _stubs_of(pid)
        assert stubs, "the Python-backend model should have a stub process"
        for thread in load:
            thread.start()
        time.sleep(3.0)  # inference under way
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5.0
        while [s for s in stubs if _alive(s)] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [s for s in stubs if _alive(s)], f"stubs {stubs} outlived tritonserver"
        assert _stubs_of(pid) == []
    finally:
        stop.set()
        server.stop()
        for thread in load:
            thread.join(60)

"""The model rollback docs/deploy.md describes, on a real tritonserver in poll mode.

The Compose Triton polls its repository; removing the newest version directory must bring the
previous version back without a restart. (Going forward, `export --new-version` picked up by
polling, is tested with the exporter in tests/triton.)
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from deploy.stack import BASE_FILES, ComposeConfig
from fixtures.models import copy_repository
from fixtures.triton import start_triton
from photodup import contract

MODEL = contract.TRITON_MODEL_NAME
DEADLINE_S = 180.0


def version_ready(base_url: str, version: int) -> bool:
    url = f"{base_url}/v2/models/{MODEL}/versions/{version}/ready"
    return httpx.get(url, timeout=5).status_code == 200


def wait_for(condition: Callable[[], bool], what: str, log: Callable[[], str]) -> None:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < DEADLINE_S, f"{what} never happened\n{log()}"
        time.sleep(0.5)


def test_compose_triton_polls_its_repository(compose_config: ComposeConfig) -> None:
    command = compose_config(BASE_FILES, "triton")["services"]["triton"]["command"]
    assert "--model-control-mode=poll" in command
    assert any(arg.startswith("--repository-poll-secs=") for arg in command)


@pytest.mark.slow
def test_removing_the_newest_version_rolls_back(model_repository: Path, tmp_path: Path) -> None:
    repo = copy_repository(model_repository, tmp_path / "repo")
    model_dir = repo / MODEL
    newest = max(int(p.name) for p in model_dir.iterdir() if p.name.isdigit())
    # A second version, as `photodup export --new-version` would add it (same files, linked).
    shutil.copytree(model_dir / str(newest), model_dir / str(newest + 1), copy_function=os.link)
    server = start_triton(repo, tmp_path, poll_repository_s=1)
    try:
        base = server.http_url
        wait_for(
            lambda: version_ready(base, newest + 1), "the new version loading", server.log_tail
        )
        assert not version_ready(base, newest), "the default policy serves the newest only"
        shutil.rmtree(model_dir / str(newest + 1))
        wait_for(lambda: version_ready(base, newest), "the rollback", server.log_tail)
        assert not version_ready(base, newest + 1)
    finally:
        server.stop()

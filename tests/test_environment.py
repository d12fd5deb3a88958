"""The tests never see the developer's own settings (tests/conftest.py removes them)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import developer_settings, settings_variables
from photodup.finder.settings import FinderSettings
from photodup.settings import ClientSettings
from photodup.webserver import HttpServerSettings

TESTS = Path(__file__).parent


def test_settings_are_the_documented_defaults_here() -> None:
    assert developer_settings() == {}
    assert FinderSettings().use_embeddings == FinderSettings.model_fields["use_embeddings"].default
    assert ClientSettings().backend == "pytorch"
    assert HttpServerSettings().header_timeout_s == 10.0
    assert {"PHOTODUP_USE_EMBEDDINGS", "INFERENCE_BACKEND", "MODEL_NAME"} <= settings_variables()


def test_a_developers_exported_settings_do_not_reach_the_tests() -> None:
    exported = {
        "PHOTODUP_USE_EMBEDDINGS": "on",
        "INFERENCE_BACKEND": "triton",
        "PHOTODUP_HTTP_HEADER_TIMEOUT_S": "0.5",
        "PHOTODUP_SOME_FUTURE_KNOB": "1",
    }
    test = f"tests/{Path(__file__).name}::test_settings_are_the_documented_defaults_here"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test],
        cwd=TESTS.parent,
        env={**os.environ, **exported},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "1 passed" in result.stdout

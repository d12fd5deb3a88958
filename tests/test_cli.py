"""The command line as a person meets it: clear errors, no tracebacks for configuration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_an_unknown_backend_is_named_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "photo.jpg").write_bytes(b"not really a photo")
    env = {**os.environ, "INFERENCE_BACKEND": "tensorflow"}
    done = subprocess.run(
        [sys.executable, "-m", "photodup.cli", "scan", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "INFERENCE_BACKEND" in done.stderr and "pytorch, triton" in done.stderr
    # Nothing was indexed or moved: the library holds exactly what it held.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.jpg"]

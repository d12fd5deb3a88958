"""The review page's actions take the library lock too: held by a CLI, nothing moves (D5)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
from PIL import Image

from finder.test_actions import _index, _snapshot
from finder.test_lock import _env
from ui.helpers import serve_ui


def _hold(lib: Path) -> subprocess.Popen[str]:
    code = (
        "import sys, time; from pathlib import Path; from photodup.finder.lock import"
        " hold_library\nwith hold_library(Path(sys.argv[1]), 'photodup resolve'):\n"
        "    print('held', flush=True); time.sleep(120)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(lib)], env=_env(), stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_keep_and_undo_on_the_page_wait_for_the_cli(
    tmp_path: Path, real_photo_images: dict[str, Image.Image]
) -> None:
    lib = tmp_path / "L"
    (lib / "backup").mkdir(parents=True)
    real_photo_images["chelsea"].save(lib / "e.jpg", "JPEG", quality=90)
    shutil.copy2(lib / "e.jpg", lib / "backup/e.jpg")
    _index(lib)[0].close()
    before = _snapshot(lib)
    # No scan happens here: the backend is never called.
    with serve_ui(lib, "pytorch=http://127.0.0.1:9") as ui, httpx.Client(base_url=ui.url) as c:
        token = re.findall(r'name="csrf-token" content="([^"]+)"', c.get("/").text)[0]
        key = re.findall(r'data-key="([0-9a-f]+)"', c.get("/groups").text)[0]
        keeper = re.findall(r'name="keeper" value="(\d+)"', c.get(f"/groups/{key}").text)[0]
        form = {"keeper": keeper, "csrf_token": token}
        holder = _hold(lib)
        try:
            page = c.post(f"/groups/{key}/keep", data=form, follow_redirects=True)
            assert page.status_code == 200
            assert f"another photodup (pid {holder.pid}, `photodup resolve`" in page.text
            assert _snapshot(lib) == before
        finally:
            holder.kill()
            holder.wait()
        page = c.post(f"/groups/{key}/keep", data=form, follow_redirects=True)
        assert "moved 1 photo" in page.text and not (lib / "backup/e.jpg").exists()

        holder = _hold(lib)
        try:
            page = c.post("/undo", data={"csrf_token": token}, follow_redirects=True)
            assert "Nothing undone: another photodup" in page.text
            assert not (lib / "backup/e.jpg").exists()
        finally:
            holder.kill()
            holder.wait()
        page = c.post("/undo", data={"csrf_token": token}, follow_redirects=True)
        assert "restored 1 file(s)" in page.text and _snapshot(lib) == before

"""The scan benchmark's parts on real files, real processes and the real service."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from photodup.bench.proc_tree import TreeSampler, tree_cpu_seconds
from photodup.bench.scan_bench import Backend, run_child_scan
from photodup.bench.scan_library import build_photo_library, build_small_library
from photodup.bench.scan_limit import client_cpu, engine_cpu, limit
from photodup.bench.scan_report import render, run_figures
from photodup.finder.walk import walk_library


def test_sampler_sees_a_childs_peak_memory_and_cpu() -> None:
    # 300 MB touched, then freed: the peak must still be seen, and the busy loop's CPU.
    code = (
        "import time\nx = bytearray(300 * 2**20)\nx[::4096] = b'1' * len(x[::4096])\ndel x\n"
        "t = time.process_time()\nwhile time.process_time() - t < 0.6: pass\ntime.sleep(0.5)"
    )
    child = subprocess.Popen([sys.executable, "-c", code])
    sampler = TreeSampler({child.pid}, interval_s=0.1).start()
    time.sleep(1.0)
    cpu = tree_cpu_seconds(child.pid)
    child.wait()
    seen = sampler.stop()
    assert len(seen) == 1 and seen[0]["pid"] == child.pid
    assert seen[0]["peak_rss_mib"] >= 300
    assert 0.5 <= max(cpu, seen[0]["cpu_s"]) < 5


def test_generated_libraries_are_distinct_photos_and_reused(tmp_path: Path) -> None:
    counts = build_photo_library(tmp_path / "photos", 10)
    assert counts == {"full_12mp": 2, "phone": 7, "copies": 1}
    files = walk_library(tmp_path / "photos").files
    assert len(files) == 10  # the stamp is hidden from the scan
    sizes = {}
    for f in files:
        with Image.open(f.abs.decode()) as img:
            sizes[f.rel.decode()] = img.size
            assert img.getexif()[0x0110]  # camera model
    # Two 12 MP originals plus the backup's copy of the first.
    assert sum(1 for size in sizes.values() if max(size) == 4032) == 3
    assert sizes["backup/camera/2020/IMG_00000.jpg"] == (4032, 3024)
    contents = [Path(f.abs.decode()).read_bytes() for f in files]
    assert len(set(contents)) == 9  # one exact copy
    mtime = (tmp_path / "photos" / files[0].rel.decode()).stat().st_mtime_ns
    build_photo_library(tmp_path / "photos", 10)  # same spec: kept as is
    assert (tmp_path / "photos" / files[0].rel.decode()).stat().st_mtime_ns == mtime
    build_small_library(tmp_path / "small", 600)
    small = walk_library(tmp_path / "small").files
    assert len(small) == 600
    assert len({Path(f.abs.decode()).read_bytes() for f in small}) == 600


def test_limit_figures_from_real_work(tmp_path: Path) -> None:
    build_photo_library(tmp_path / "photos", 10)
    client = client_cpu(tmp_path / "photos")
    assert (client["photos"], client["computed"]) == (10, 9)
    assert 0.001 < client["cpu_s_per_photo"] < 5
    assert {"read_hash", "decode", "preprocess", "phash"} <= set(client["stage_s_per_photo"])
    weights = np.random.default_rng(0).standard_normal((3 * 224 * 224, 512), dtype=np.float32)
    engine = engine_cpu(lambda batch: batch.reshape(len(batch), -1) @ weights, batch=8)
    assert engine["images"] == 24 and engine["cpu_s_per_image"] > 0
    bound = limit(0.05, 0.15, computed_share=0.5)
    assert bound["photos_per_s"] == bound["cores"] / 0.125


def test_a_child_scan_through_the_real_service_reports_every_figure(
    tmp_path: Path, pytorch_service: object
) -> None:
    build_small_library(tmp_path / "lib", 40)
    url = pytorch_service.url  # type: ignore[attr-defined]
    pid = pytorch_service.process.pid  # type: ignore[attr-defined]
    backend = Backend("pytorch", "pytorch", url, "http", pid)
    settings = {"workers": 2, "batch_size": 8}
    run = run_child_scan(tmp_path / "lib", backend, settings, tmp_path / "index.db")
    assert run["state"] == "completed" and run["embedded"] == 40 and run["requests"] == 5
    assert (tmp_path / "index.db").is_file() and not (tmp_path / "lib" / ".photodup").exists()
    assert run["peak_tensors"] <= run["tensor_window"] == 8 * 3 + 4
    assert run["backend_cpu_s"] > 0 and run["backend_processes"][0]["peak_rss_mib"] > 200
    # The scan process's own peak (VmHWM), not one inherited from its parent.
    assert 30 < run["main_peak_rss_mib"] < 600
    # The other processes of the scan: forkserver, resource tracker and the two workers,
    # which did the decoding and so used the most CPU.
    workers = sorted(run["workers"], key=lambda p: p["cpu_s"])[-2:]
    assert all(w["peak_rss_mib"] > 30 and w["cpu_s"] > 0.05 for w in workers), run["workers"]
    assert run["stages_s"]["cpu"] > 0 and run["stages_s"]["walk"] >= 0
    rescan = run_child_scan(tmp_path / "lib", backend, settings, tmp_path / "index.db")
    assert (rescan["unchanged"], rescan["embedded"], rescan["requests"]) == (40, 0, 0)

    lim = {
        "client": {"cpu_s_per_photo": 0.01, "stage_s_per_photo": {}},
        "pytorch_engine": {"cpu_s_per_image": 0.1, "batch": 32, "images_per_s": 10.0},
    }
    figures = run_figures(run, lim)
    assert figures["engine"] == "pytorch_engine"
    assert figures["cpu_efficiency"] > 0 and figures["core_share"] > 0
    assert figures["limit_photos_per_s"] == limit(0.01, 0.1)["photos_per_s"]
    results = {
        "machine": {"cpu_model": "x", "logical_cores": 2},
        "library": {"photos": 40, "full_12mp": 0, "phone": 40, "copies": 0},
        "limit": lim,
        "runs": [run],
        "memory": [{**run, "files": 40}],
        "rescan": {**rescan, "files": 40},
    }
    text = render(results)
    assert "| pytorch | 40 | 0 |" in text and "Rescan of 40 unchanged files" in text
    # Figures joined from another run carry their note into the report.
    notes = {"memory": "Memory from run B.", "rescan": "Rescan from run B."}
    text = render({**results, "notes": notes})
    memory_at, rescan_at = text.index("## Memory against"), text.index("## Rescan of")
    assert memory_at < text.index("Memory from run B.") < rescan_at
    assert rescan_at < text.index("Rescan from run B.")

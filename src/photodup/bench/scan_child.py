"""One scan in a process of its own for the scan benchmark (``-m photodup.bench.scan_child``).

A separate process, so that its peak memory is the scan's alone (not the benchmark's, which
loads the raw engines). It writes one JSON object: the scan summary with its stage times, the
main process's exact CPU seconds and peak RSS (``VmHWM``), and the sampled CPU and peak
RSS of its worker processes.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any


def _hwm_mib() -> float:
    """Peak RSS of this process. Not ``getrusage``: Linux carries ``ru_maxrss`` across exec,
    so a child of the benchmark would report the benchmark's own peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_scan(args: argparse.Namespace) -> dict[str, Any]:
    from photodup.bench.proc_tree import TreeSampler
    from photodup.client import InferenceClient
    from photodup.finder.scan import scan_library
    from photodup.finder.settings import FinderSettings

    fields = FinderSettings.model_fields
    values = {k: f.get_default(call_default_factory=True) for k, f in fields.items()}
    values.update(json.loads(args.settings))
    settings = FinderSettings.model_validate(values)
    sampler = TreeSampler({os.getpid()}, interval_s=0.25).start()
    cpu0 = time.process_time()
    # The client's own settings (TRITON_MODEL_NAME, timeouts) come from the environment.
    with InferenceClient(args.url, args.backend, protocol=args.protocol) as client:
        summary = scan_library(Path(args.library), client, settings)
    processes = sampler.stop()
    main_pid = os.getpid()
    return {
        "state": summary.state,
        "files_seen": summary.files_seen,
        "unchanged": summary.unchanged,
        "embedded": summary.embedded,
        "reused": summary.reused,
        "computed": summary.computed,
        "skipped": dict(summary.skipped),
        "seconds": summary.seconds,
        "photos_per_s": summary.photos_per_s,
        "requests": summary.requests,
        "peak_tensors": summary.peak_tensors,
        "tensor_window": summary.tensor_window,
        "stages_s": dict(summary.stages),
        "settings": {
            k: getattr(settings, k)
            for k in ("workers", "batch_size", "requests_in_flight", "backend_wait_s")
        },
        "main_cpu_s": time.process_time() - cpu0,
        "main_peak_rss_mib": _hwm_mib(),
        "workers": [p for p in processes if p["pid"] != main_pid],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("library")
    parser.add_argument("--backend", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--protocol", default=None)
    parser.add_argument("--settings", default="{}", help="FinderSettings fields as JSON")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    result = run_scan(args)
    Path(args.out).write_text(json.dumps(result, indent=2))
    return 0 if result["state"] == "completed" else 1


if __name__ == "__main__":
    sys.exit(main())

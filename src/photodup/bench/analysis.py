"""Derived figures and the verdict, computed from a results structure and nothing else.

Comparisons stay like-for-like: client latency with client latency, server compute with server
compute, served throughput with the raw engine the backend runs. The verdict sentences are
generated here from those numbers, so no claim in a report is written by hand.
"""

from __future__ import annotations

from typing import Any

from photodup.bench.stats import ratio

#: Differences smaller than this are reported as a tie: with tens of samples on a shared
#: machine, run-to-run noise of a few percent is normal.
TIE_FRACTION = 0.05


def _get(d: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def raw_images_per_s(results: dict[str, Any], engine: str) -> dict[str, float]:
    batch = _get(results, "reference", engine, "batch") or {}
    return {size: float(entry["images_per_s"]) for size, entry in batch.items()}


def ratios_to_raw(results: dict[str, Any]) -> dict[str, Any]:
    """Each served throughput divided by its own raw engine's throughput."""
    out: dict[str, Any] = {}
    for name, target in (results.get("targets") or {}).items():
        raw = raw_images_per_s(results, target["engine"])
        if not raw:
            continue
        best_size = max(raw, key=lambda s: raw[s])
        batch = {
            size: ratio(entry["images_per_s"], raw.get(size))
            for size, entry in (target.get("batch") or {}).items()
        }
        concurrency = {
            level: {
                "vs_raw_batch_1": ratio(entry["images_per_s"], raw.get("1")),
                "vs_raw_best": ratio(entry["images_per_s"], raw[best_size]),
            }
            for level, entry in (target.get("concurrency") or {}).items()
        }
        out[name] = {
            "engine": target["engine"],
            "raw_best_batch_size": int(best_size),
            "raw_best_images_per_s": raw[best_size],
            "batch": batch,
            "concurrency": concurrency,
        }
    return out


def _compare(
    label_a: str, a: float | None, label_b: str, b: float | None, higher_wins: bool
) -> dict[str, Any] | None:
    """Which of two figures wins, by what factor; None when either is missing."""
    if a is None or b is None or a <= 0 or b <= 0:
        return None
    factor = max(a, b) / min(a, b)
    if factor - 1 < TIE_FRACTION:
        return {
            "winner": None,
            "factor": factor,
            "text": f"{label_a} and {label_b} tie (within {TIE_FRACTION:.0%})",
        }
    a_wins = (a > b) == higher_wins
    winner, loser = (label_a, label_b) if a_wins else (label_b, label_a)
    return {
        "winner": winner,
        "factor": factor,
        "text": f"{winner} wins by {factor:.2f}x over {loser}",
    }


def _best_concurrency(target: dict[str, Any]) -> tuple[str, float] | None:
    levels = target.get("concurrency") or {}
    if not levels:
        return None
    level = max(levels, key=lambda lv: levels[lv]["images_per_s"])
    return level, float(levels[level]["images_per_s"])


def verdict(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Sentences, each with the figures it rests on."""
    targets = results.get("targets") or {}
    items: list[dict[str, Any]] = []

    def add(topic: str, cmp: dict[str, Any] | None, basis: str, **figures: Any) -> None:
        if cmp is not None:
            items.append(
                {**cmp, "topic": topic, "text": f"{cmp['text']} ({basis})", "figures": figures}
            )

    pt, tr = targets.get("pytorch"), targets.get("triton")
    if pt and tr:
        a = _get(pt, "single", "client_path", "latency", "p50_ms")
        b = _get(tr, "single", "client_path", "latency", "p50_ms")
        add(
            "single-image latency",
            _compare("PyTorch", a, "Triton", b, False),
            "client-side p50, decode + preprocess + binary tensor request",
            pytorch_ms=a,
            triton_ms=b,
        )
        sizes = sorted(set(pt.get("batch", {})) & set(tr.get("batch", {})), key=int)
        if sizes:
            big = sizes[-1]
            a, b = pt["batch"][big]["images_per_s"], tr["batch"][big]["images_per_s"]
            add(
                f"batch {big} throughput",
                _compare("PyTorch", a, "Triton", b, True),
                f"client-side images/s, sequential batches of {big}",
                pytorch=a,
                triton=b,
            )
            a = _get(pt, "batch", big, "server", "metrics", "compute_infer_ms_per_execution")
            b = _get(tr, "batch", big, "server", "statistics", "compute_infer_ms_per_execution")
            add(
                f"batch {big} server compute",
                _compare("PyTorch", a, "Triton", b, False),
                "server-side model execution time, each server's own statistics",
                pytorch_ms=a,
                triton_ms=b,
            )
    for name, target in targets.items():
        if target["backend"] != "pytorch" or not tr:
            continue
        best_p, best_t = _best_concurrency(target), _best_concurrency(tr)
        if best_p and best_t:
            (lp, a), (lt, b) = best_p, best_t
            add(
                f"concurrent throughput vs {name}",
                _compare(name, a, "Triton", b, True),
                f"best single-image images/s over concurrency levels: "
                f"{name} at {lp}, Triton at {lt}",
                pytorch=a,
                triton=b,
                triton_over_pytorch=ratio(b, a),
            )
    plain, batched = targets.get("pytorch"), targets.get("pytorch-batching")
    if plain and batched and _best_concurrency(plain) and _best_concurrency(batched):
        a, b = _best_concurrency(plain)[1], _best_concurrency(batched)[1]  # type: ignore[index]
        add(
            "PyTorch micro-batching",
            _compare("batching off", a, "batching on", b, True),
            "best concurrent images/s of the PyTorch service",
            off=a,
            on=b,
        )
    transport = results.get("transport") or {}
    b64, binary = transport.get("pytorch_base64_json"), transport.get("pytorch_binary")
    if b64 and binary:
        add(
            "PyTorch transport",
            _compare(
                "base64 JSON",
                b64["throughput"]["images_per_s"],
                "binary tensors",
                binary["throughput"]["images_per_s"],
                True,
            ),
            f"images/s; bytes per image {b64['bytes_per_image']:,.0f} "
            f"vs {binary['bytes_per_image']:,.0f}",
        )
    raw_pt, raw_ort = raw_images_per_s(results, "pytorch"), raw_images_per_s(results, "onnxruntime")
    common = sorted(set(raw_pt) & set(raw_ort), key=int)
    if common:
        big = common[-1]
        add(
            "raw engines",
            _compare("PyTorch (raw)", raw_pt[big], "ONNX Runtime (raw)", raw_ort[big], True),
            f"in-process images/s at batch {big}",
        )
    return items


def expectation_check(results: dict[str, Any], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The seed's expectations beside the measured figure they are about."""
    out = []
    exp = _get(results, "expectations", "triton_concurrency_speedup")
    # The seed compared against its PyTorch service, which had no micro-batching.
    topic = "concurrent throughput vs pytorch"
    measured = next(
        (i["figures"].get("triton_over_pytorch") for i in items if i["topic"] == topic), None
    )
    if exp:
        met = None if measured is None else exp["low"] <= measured
        out.append(
            {
                "expectation": exp["text"],
                "measured_triton_over_pytorch": measured,
                "basis": f"{topic} (batching off), best level each",
                "met": met,
            }
        )
    return out


def machine_busy(results: dict[str, Any]) -> dict[str, Any] | None:
    """Whether other work competed for the CPU: the 1-minute load above the usable cores."""
    cores = _get(results, "machine", "usable_cores")
    loads = [_get(results, "load_average", when) for when in ("start", "end")]
    peaks = [load[0] for load in loads if load]
    steps = _get(results, "load_average", "steps") or []
    peaks += [step["load_1m"] for step in steps if step.get("load_1m") is not None]
    if not cores or not peaks or max(peaks) <= cores:
        return None
    return {
        "text": f"the 1-minute load average reached {max(peaks):.1f} on {cores} usable cores, "
        "so other work competed for the CPU during this run: treat differences as indicative",
        "load_peak": max(peaks),
        "cores": cores,
    }


def compare(results: dict[str, Any]) -> dict[str, Any]:
    items = verdict(results)
    return {
        "busy_machine": machine_busy(results),
        "ratios_to_raw": ratios_to_raw(results),
        "verdict": items,
        "expectations": expectation_check(results, items),
    }

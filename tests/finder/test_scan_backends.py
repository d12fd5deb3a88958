"""The scan embeds through the one client, so either backend must give the same index."""

from __future__ import annotations

import numpy as np

from client.helpers import triton_counts_reaching, triton_counts_settled
from finder.conftest import finder_settings
from photodup import contract
from photodup.client import InferenceClient
from photodup.finder.sample import SampleLibrary
from photodup.finder.scan import ScanSummary, scan_library
from photodup.finder.store import Store


def test_scanning_through_triton_indexes_what_pytorch_indexes(
    sample_library: SampleLibrary,
    scanned_library: tuple[SampleLibrary, ScanSummary],
    triton_server: object,
) -> None:
    # gRPC here; the client tests cover Triton over HTTP against the same parity bar.
    url = triton_server.grpc_url  # type: ignore[attr-defined]
    http_url = triton_server.http_url  # type: ignore[attr-defined]
    uint8_model, fp32_model = contract.UINT8_MODEL.name, contract.TRITON_MODEL_NAME
    before = (
        triton_counts_settled(http_url, uint8_model)[0],
        triton_counts_settled(http_url, fp32_model)[0],
    )
    with InferenceClient(url, "triton", protocol="grpc") as client:
        summary = scan_library(sample_library.root, client, finder_settings())
    computed = summary.embedded - summary.reused
    after = (
        triton_counts_reaching(http_url, uint8_model, before[0] + computed)[0],
        triton_counts_settled(http_url, fp32_model)[0],
    )
    # The scan sends uint8 pixels when Triton serves the uint8 model: a quarter of the bytes.
    assert after[0] - before[0] == computed, (before, after)
    assert after[1] == before[1], "the scan sent float32 although the uint8 model is served"
    reference, reference_summary = scanned_library
    assert summary.state == "completed"
    assert summary.embedded == reference_summary.embedded
    assert dict(summary.skipped) == dict(reference_summary.skipped)

    def by_path(root: object) -> dict[str, tuple[str, int, np.ndarray]]:
        with Store.open(root) as store:  # type: ignore[arg-type]
            ids, matrix = store.embeddings()
            vectors = dict(zip(ids.tolist(), matrix, strict=True))
            return {
                p.display_path: (p.sha256, p.phash, vectors[p.id])
                for p in store.list_photos()
                if p.id in vectors
            }

    triton, pytorch = by_path(sample_library.root), by_path(reference.root)
    assert triton.keys() == pytorch.keys()
    for path, (sha, phash, vector) in triton.items():
        ref_sha, ref_phash, ref_vector = pytorch[path]
        assert (sha, phash) == (ref_sha, ref_phash), path
        # Same pixels into the same weights: cosine 0.999 is the parity bar.
        assert float(vector @ ref_vector) >= 0.999, path

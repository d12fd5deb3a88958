"""Concurrent single-image requests are merged by Triton's dynamic batcher, through our client."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from client.helpers import client_settings, cosine_rows, triton_counts
from photodup import contract
from photodup.client import InferenceClient
from photodup.triton import LocalTriton


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_concurrent_singles_run_in_shared_batches(
    triton_server: LocalTriton, protocol: str
) -> None:
    url = triton_server.http_url if protocol == "http" else triton_server.grpc_url
    rng = np.random.default_rng(7)
    images = rng.standard_normal((24, 1, *contract.INPUT_SHAPE), dtype=np.float32)
    with InferenceClient(url, "triton", protocol=protocol, settings=client_settings()) as client:
        expected = client.embed_tensors(images[:, 0])  # one request, for the values
        before = triton_counts(triton_server.http_url, contract.TRITON_MODEL_NAME)
        # One shared client from 12 threads: also proves the client is thread-safe.
        with ThreadPoolExecutor(max_workers=12) as pool:
            singles = list(pool.map(client.embed_tensors, images))
        after = triton_counts(triton_server.http_url, contract.TRITON_MODEL_NAME)
    inferences, executions = after[0] - before[0], after[1] - before[1]
    print(f"triton/{protocol}: {inferences} single-image requests ran in {executions} executions")
    assert inferences == len(images)
    # The batcher waits up to 5 ms and a CPU execution takes far longer, so queued singles
    # are merged: fewer model executions than images means batches larger than one.
    assert executions < inferences, (inferences, executions)
    got = np.concatenate(singles)
    assert cosine_rows(got, expected).min() > 0.9999

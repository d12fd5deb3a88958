"""The pre-serialised gRPC request is the message tritonclient would build, byte for byte in
meaning, and gets the same answer from a real Triton."""

from __future__ import annotations

import numpy as np
import tritonclient.grpc as grpcclient
from tritonclient.grpc import service_pb2

from photodup import contract
from photodup.client.grpc_infer import RawInfer, encode_request
from photodup.triton import LocalTriton


def test_the_request_parses_as_model_infer_request() -> None:
    batch = np.random.default_rng(1).integers(0, 256, (3, *contract.INPUT_SHAPE), dtype=np.uint8)
    parsed = service_pb2.ModelInferRequest.FromString(encode_request(contract.UINT8_MODEL, batch))
    assert parsed.model_name == contract.UINT8_MODEL_NAME
    (tensor,) = parsed.inputs
    assert (tensor.name, tensor.datatype) == (contract.UINT8_INPUT_NAME, "UINT8")
    assert list(tensor.shape) == list(batch.shape)
    assert [o.name for o in parsed.outputs] == [contract.OUTPUT_NAME]
    (raw,) = parsed.raw_input_contents
    assert raw == batch.tobytes()


def test_same_answer_as_tritonclient(triton_server: LocalTriton) -> None:
    batch = np.random.default_rng(2).standard_normal((5, *contract.INPUT_SHAPE), dtype=np.float32)
    client = grpcclient.InferenceServerClient(triton_server.grpc_url)
    tensor = grpcclient.InferInput(contract.INPUT_NAME, list(batch.shape), "FP32")
    tensor.set_data_from_numpy(batch)
    expected = client.infer(contract.TRITON_MODEL_NAME, [tensor]).as_numpy(contract.OUTPUT_NAME)
    client.close()
    raw = RawInfer(triton_server.grpc_url)
    try:
        got = raw(contract.FP32_MODEL, batch, 60.0)
    finally:
        raw.close()
    assert got.dtype == np.float32 and got.shape == (5, contract.EMBED_DIM)
    np.testing.assert_array_equal(got, expected)

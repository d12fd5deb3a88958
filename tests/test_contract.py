"""The names and shapes in photodup.contract agree with the ONNX graph and config.pbtxt on disk."""

from __future__ import annotations

from pathlib import Path

import onnx
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as mc

from photodup import contract


def _dims(value_info: onnx.ValueInfoProto) -> list[int | str]:
    return [
        d.dim_param if d.HasField("dim_param") else d.dim_value
        for d in value_info.type.tensor_type.shape.dim
    ]


def test_onnx_graph_matches_the_contract(model_repository: Path) -> None:
    # load_external_data=False: only the graph signature is needed, not 350 MB of weights.
    path = model_repository / contract.TRITON_MODEL_NAME / "1" / "model.onnx"
    graph = onnx.load(str(path), load_external_data=False).graph
    (image,) = graph.input
    (embedding,) = graph.output
    assert image.name == contract.INPUT_NAME
    assert embedding.name == contract.OUTPUT_NAME
    float32 = onnx.TensorProto.FLOAT
    assert image.type.tensor_type.elem_type == embedding.type.tensor_type.elem_type == float32
    image_dims, embedding_dims = _dims(image), _dims(embedding)
    # The batch axis is symbolic (dynamic); the rest are the contract's fixed sizes.
    assert isinstance(image_dims[0], str) and isinstance(embedding_dims[0], str)
    assert tuple(image_dims[1:]) == contract.INPUT_SHAPE
    assert tuple(embedding_dims[1:]) == contract.OUTPUT_SHAPE
    opsets = {
        o.domain: o.version for o in onnx.load(str(path), load_external_data=False).opset_import
    }
    assert opsets[""] == contract.ONNX_OPSET


def test_config_on_disk_matches_the_contract(model_repository: Path) -> None:
    path = model_repository / contract.TRITON_MODEL_NAME / "config.pbtxt"
    config = text_format.Parse(path.read_text(), mc.ModelConfig())
    assert config.name == contract.TRITON_MODEL_NAME
    assert config.max_batch_size == contract.MAX_BATCH_SIZE
    assert [(i.name, tuple(i.dims)) for i in config.input] == [
        (contract.INPUT_NAME, contract.INPUT_SHAPE)
    ]
    assert [(o.name, tuple(o.dims)) for o in config.output] == [
        (contract.OUTPUT_NAME, contract.OUTPUT_SHAPE)
    ]
    assert tuple(config.dynamic_batching.preferred_batch_size) == contract.PREFERRED_BATCH_SIZES
    assert config.dynamic_batching.max_queue_delay_microseconds == contract.MAX_QUEUE_DELAY_US


def test_shapes_are_built_from_the_sizes() -> None:
    assert contract.INPUT_SHAPE == (contract.CHANNELS, contract.IMAGE_SIZE, contract.IMAGE_SIZE)
    assert contract.OUTPUT_SHAPE == (contract.EMBED_DIM,)
    assert max(contract.PREFERRED_BATCH_SIZES) <= contract.MAX_BATCH_SIZE
    assert len(contract.CLIP_MEAN) == len(contract.CLIP_STD) == contract.CHANNELS

"""The uint8 model's graph: the exported fp32 graph with the CLIP normalisation put in front.

The prefix repeats :func:`photodup.imaging.normalise` operation for operation in float32
(Cast, /255, -mean, /std), so the fp32 graph behind it sees the same numbers the client would
have sent; the weights are the fp32 graph's, unchanged. Built from ``model.onnx`` with the
``onnx`` library in a few seconds, no second torch export.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from photodup import contract


def build_uint8_graph(fp32_onnx: Path, out: Path) -> None:
    """Write the uint8 model (``pixels`` UINT8 [N,3,224,224] -> embedding) to ``out``."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(fp32_onnx))
    graph = model.graph
    (old_input,) = [i for i in graph.input if i.name == contract.INPUT_NAME]
    batch_dim = old_input.type.tensor_type.shape.dim[0]
    pixels = helper.make_tensor_value_info(
        contract.UINT8_INPUT_NAME, TensorProto.UINT8, [None, *contract.INPUT_SHAPE]
    )
    # Keep the symbolic batch axis the fp32 graph was exported with.
    pixels.type.tensor_type.shape.dim[0].CopyFrom(batch_dim)

    def const(name: str, values: tuple[float, ...] | float) -> onnx.TensorProto:
        array = np.asarray(values, dtype=np.float32)
        if array.ndim:
            array = array.reshape(1, 3, 1, 1)
        return numpy_helper.from_array(array, name)

    prefix = "photodup_normalise_"
    graph.initializer.extend(
        [
            const(prefix + "255", 255.0),
            const(prefix + "mean", contract.CLIP_MEAN),
            const(prefix + "std", contract.CLIP_STD),
        ]
    )
    nodes = [
        helper.make_node("Cast", [contract.UINT8_INPUT_NAME], [prefix + "f"], to=TensorProto.FLOAT),
        helper.make_node("Div", [prefix + "f", prefix + "255"], [prefix + "scaled"]),
        helper.make_node("Sub", [prefix + "scaled", prefix + "mean"], [prefix + "centred"]),
        helper.make_node("Div", [prefix + "centred", prefix + "std"], [contract.INPUT_NAME]),
    ]
    body = list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes + body)
    graph.input.remove(old_input)
    graph.input.insert(0, pixels)
    onnx.checker.check_model(model, full_check=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out))

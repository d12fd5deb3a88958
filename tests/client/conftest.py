"""Client tests talk to real servers: the session's Triton, the PyTorch service, and a Triton
serving small dummy models for the failure paths a healthy export cannot produce."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.triton import start_triton
from photodup import contract
from photodup.triton import LocalTriton

#: A Python-backend model that answers with fixed unit vectors of its configured width.
_DUMMY_MODEL = """
import json
import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        self.dim = int(config["output"][0]["dims"][0])

    def execute(self, requests):
        responses = []
        for request in requests:
            n = pb_utils.get_input_tensor_by_name(request, "{input}").as_numpy().shape[0]
            out = np.zeros((n, self.dim), dtype=np.float32)
            out[:, 0] = 1.0
            if {nan_row} < n:
                out[{nan_row}, :] = np.nan
            tensor = pb_utils.Tensor("{output}", out)
            responses.append(pb_utils.InferenceResponse(output_tensors=[tensor]))
        return responses
"""


def _dummy(repo: Path, name: str, *, max_batch: int, dim: int, nan_row: int = -1) -> None:
    version = repo / name / "1"
    version.mkdir(parents=True)
    source = _DUMMY_MODEL.replace("{input}", contract.INPUT_NAME)
    source = source.replace("{nan_row}", str(nan_row) if nan_row >= 0 else "n")
    (version / "model.py").write_text(source.replace("{output}", contract.OUTPUT_NAME))
    shape = ", ".join(str(d) for d in contract.INPUT_SHAPE)
    (repo / name / "config.pbtxt").write_text(
        f'name: "{name}"\nbackend: "python"\nmax_batch_size: {max_batch}\n'
        f'input [{{ name: "{contract.INPUT_NAME}" data_type: TYPE_FP32 dims: [{shape}] }}]\n'
        f'output [{{ name: "{contract.OUTPUT_NAME}" data_type: TYPE_FP32 dims: [{dim}] }}]\n'
        "instance_group [{ count: 1 kind: KIND_CPU }]\n"
    )


@pytest.fixture(scope="session")
def dummy_triton(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTriton]:
    """Triton with ``wrong_dim`` (answers [N, 256]), ``small_batch`` (max_batch_size 4) and
    ``nan_output`` (NaN in the second row of every answer)."""
    repo = tmp_path_factory.mktemp("dummy_repo")
    _dummy(repo, "wrong_dim", max_batch=8, dim=256)
    _dummy(repo, "small_batch", max_batch=4, dim=contract.EMBED_DIM)
    _dummy(repo, "nan_output", max_batch=8, dim=contract.EMBED_DIM, nan_row=1)
    server = start_triton(repo, tmp_path_factory.mktemp("dummy_triton"))
    try:
        yield server
    finally:
        server.stop()

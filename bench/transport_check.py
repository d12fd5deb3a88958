"""Transport figures for docs/inference.md: fp32 vs uint8, HTTP vs gRPC, batch 8 and 32.

Starts the wheel's tritonserver on free ports with the given repository and prints, per path,
images/s, the client's CPU per image and the time per image spent outside Triton's own request
timer (client work + wire + frontend). With a repository of dummy models (``--dummy``: the same
two model names, fixed answers) the model costs nothing and only the transport is left.

    PYTHONPATH=src .venv/bin/python bench/transport_check.py [REPO | --dummy] [B:CALLS:ROUNDS]...
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from photodup import contract
from photodup.client import InferenceClient
from photodup.processes import free_port
from photodup.settings import ClientSettings
from photodup.triton import LocalTriton, TritonPorts

_DUMMY = """
import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        out = []
        for request in requests:
            n = pb_utils.get_input_tensor_by_name(request, "{name}").as_numpy().shape[0]
            vectors = np.zeros((n, {dim}), dtype=np.float32)
            vectors[:, 0] = 1.0
            tensor = pb_utils.Tensor("{output}", vectors)
            out.append(pb_utils.InferenceResponse(output_tensors=[tensor]))
        return out
"""


def dummy_repository(root: Path) -> Path:
    for model in contract.SERVED_MODELS:
        (root / model.name / "1").mkdir(parents=True)
        source = _DUMMY.format(name=model.input_name, dim=contract.EMBED_DIM, output="embedding")
        (root / model.name / "1" / "model.py").write_text(source)
        (root / model.name / "config.pbtxt").write_text(
            f'name: "{model.name}"\nbackend: "python"\nmax_batch_size: {contract.MAX_BATCH_SIZE}\n'
            f'input [{{ name: "{model.input_name}" data_type: TYPE_{model.input_dtype} '
            "dims: [3, 224, 224] }]\n"
            'output [{ name: "embedding" data_type: TYPE_FP32 dims: [512] }]\n'
            "instance_group [{ count: 1 kind: KIND_CPU }]\n"
        )
    return root


def main(argv: list[str]) -> None:
    work = Path(tempfile.mkdtemp(prefix="transport-check-"))
    repo = dummy_repository(work / "repo") if argv[0] == "--dummy" else Path(argv[0])
    specs = argv[1:] or ["8:3:3", "32:1:3"]
    ports = TritonPorts(http=free_port(), grpc=free_port(), metrics=free_port())
    with LocalTriton(repo, ports, log_path=work / "tritonserver.log") as server:
        server.wait_ready(180)

        def server_seconds() -> float:
            total = 0
            for name in (contract.TRITON_MODEL_NAME, contract.UINT8_MODEL_NAME):
                stats = httpx.get(f"{server.http_url}/v2/models/{name}/stats").json()
                total += stats["model_stats"][0]["inference_stats"]["success"]["ns"]
            return total / 1e9

        rng = np.random.default_rng(0)
        for spec in specs:
            batch, calls, rounds = map(int, spec.split(":"))
            pixels = rng.integers(0, 256, (batch, *contract.INPUT_SHAPE), dtype=np.uint8)
            clients = {}
            for protocol in ("http", "grpc"):
                url = server.http_url if protocol == "http" else server.grpc_url
                for uint8 in (False, True):
                    settings = ClientSettings.model_construct().model_copy(
                        update={"triton_uint8": uint8}
                    )
                    client = InferenceClient(url, "triton", protocol=protocol, settings=settings)
                    assert client.uses_uint8() is uint8
                    client.embed_pixels(pixels)  # warm-up
                    clients[(protocol, uint8)] = client
            figures: dict[tuple[str, bool], list[tuple[float, float, float]]] = {}
            for _ in range(rounds):  # interleaved, so a busy moment hurts every path alike
                for key, client in clients.items():
                    inside, cpu = server_seconds(), time.process_time()
                    started = time.perf_counter()
                    for _ in range(calls):
                        client.embed_pixels(pixels)
                    wall = time.perf_counter() - started
                    images = batch * calls
                    figures.setdefault(key, []).append(
                        (
                            images / wall,
                            (time.process_time() - cpu) / images * 1e3,
                            (wall - (server_seconds() - inside)) / images * 1e3,
                        )
                    )
            for (protocol, uint8), rows in figures.items():
                rate, cpu_ms, outside_ms = np.median(np.asarray(rows), axis=0)
                print(
                    f"{protocol:4s} {'uint8' if uint8 else 'fp32':5s} batch {batch:2d}: "
                    f"{rate:7.1f} img/s, client CPU {cpu_ms:.2f} ms/img, outside the server "
                    f"{outside_ms:.2f} ms/img (median of {rounds})",
                    flush=True,
                )
            for client in clients.values():
                client.close()


if __name__ == "__main__":
    main(sys.argv[1:] or ["--dummy"])

"""Transport comparison: bytes per image on the wire and throughput of each request path.

Paths: the seed's JSON/base64 files to PyTorch, binary float32 tensors to PyTorch, Triton's
HTTP binary tensor extension and Triton gRPC. Bytes are counted by a loopback relay
(:mod:`photodup.bench.relay`); throughput is timed on a direct connection.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from photodup.bench.config import Profile
from photodup.bench.inputs import BenchInputs
from photodup.bench.relay import CountingRelay
from photodup.bench.timing import Call, run_sequential
from photodup.client import InferenceClient

Progress = Callable[[str], None]


@dataclass(frozen=True)
class TransportPath:
    name: str
    backend: str
    protocol: str  # http | grpc
    url: str  # "http://127.0.0.1:P" or, for gRPC, "127.0.0.1:P"
    payload: str  # base64 | tensor

    def host_port(self) -> tuple[str, int]:
        address = self.url.split("://", 1)[-1].rstrip("/")
        host, port = address.rsplit(":", 1)
        return host, int(port)

    def via(self, port: int) -> str:
        host = f"127.0.0.1:{port}"
        return host if self.protocol == "grpc" else f"http://{host}"


def paths_for(backend: str, url: str, grpc_url: str | None = None) -> list[TransportPath]:
    if backend == "pytorch":
        return [
            TransportPath("pytorch_base64_json", "pytorch", "http", url, "base64"),
            TransportPath("pytorch_binary", "pytorch", "http", url, "tensor"),
        ]
    paths = [TransportPath("triton_http_binary", "triton", "http", url, "tensor")]
    if grpc_url:
        paths.append(TransportPath("triton_grpc", "triton", "grpc", grpc_url, "tensor"))
    return paths


def _call(client: InferenceClient, path: TransportPath, inputs: BenchInputs, size: int) -> Call:
    if path.payload == "base64":
        encoded = [base64.b64encode(f).decode("ascii") for f in inputs.files]

        def b64(i: int) -> int:
            batch = [encoded[(i * size + k) % len(encoded)] for k in range(size)]
            return len(client.embed_base64_images(batch))

        return b64

    def tensor(i: int) -> int:
        return int(client.embed_tensors(inputs.tensor_batch(i * size, size)).shape[0])

    return tensor


def measure_path(
    path: TransportPath, inputs: BenchInputs, profile: Profile, progress: Progress
) -> dict[str, Any]:
    size, requests = profile.transport_batch, profile.transport_requests
    progress(f"transport: {path.name} bytes on the wire")
    host, port = path.host_port()
    with CountingRelay(host, port) as relay:
        client = InferenceClient(path.via(relay.port), path.backend, protocol=path.protocol)
        try:
            call = _call(client, path, inputs, size)
            call(-1)  # connection set-up and any metadata the client fetches once
            relay.reset()
            images = sum(call(i) for i in range(requests))
            sent, received = relay.sent, relay.received
        finally:
            client.close()
    progress(f"transport: {path.name} throughput")
    client = InferenceClient(path.url, path.backend, protocol=path.protocol)
    try:
        summary, failures = run_sequential(
            _call(client, path, inputs, size),
            requests=requests,
            warmup=profile.warmup,
            batch_size=size,
        )
    finally:
        client.close()
    return {
        "path": path.name,
        "backend": path.backend,
        "protocol": path.protocol,
        "payload": path.payload,
        "batch_size": size,
        "requests_counted": requests,
        "images_counted": images,
        "bytes_sent": sent,
        "bytes_received": received,
        "bytes_sent_per_image": sent / images,
        "bytes_received_per_image": received / images,
        "bytes_per_image": (sent + received) / images,
        "throughput": summary.as_dict(),
        "error_messages": failures.messages,
    }

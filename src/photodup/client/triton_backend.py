"""Adapter for Triton over tritonclient: HTTP with binary tensor data, or gRPC.

tritonclient's client objects are not meant to be shared between threads (the HTTP one runs on
gevent), so each calling thread gets its own, created on first use and closed with the adapter.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import numpy as np

from photodup import contract
from photodup.client.errors import InferenceError, RetryableError, ShapeMismatchError

_RETRY_WORDS = ("unavailable", "not ready", "connection", "socket closed")


def host_port(url: str) -> str:
    """tritonclient wants ``host:port``; accept the usual URL spellings too."""
    for scheme in ("http://", "https://", "grpc://"):
        if url.startswith(scheme):
            url = url[len(scheme) :]
    return url.rstrip("/")


class TritonAdapter:
    backend = "triton"

    def __init__(self, url: str, *, protocol: str, model_name: str, timeout_s: float) -> None:
        self.protocol = protocol
        self.url = f"http://{host_port(url)}" if protocol == "http" else host_port(url)
        self.model_name = model_name
        self.timeout_s = timeout_s
        self._local = threading.local()
        self._clients: list[Any] = []
        self._lock = threading.Lock()
        self._max_batch: int | None = None
        if protocol == "http":
            import tritonclient.http as module
        else:
            import tritonclient.grpc as module
        self._module: Any = module

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            if self.protocol == "http":
                client = self._module.InferenceServerClient(
                    host_port(self.url),
                    connection_timeout=self.timeout_s,
                    network_timeout=self.timeout_s,
                )
            else:
                client = self._module.InferenceServerClient(host_port(self.url))
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a tritonclient call, sorting its failures into retryable and final ones."""
        from tritonclient.utils import InferenceServerException

        try:
            return fn(*args, **kwargs)
        except InferenceServerException as exc:
            status = str(exc.status() or "")
            message = exc.message() or status or repr(exc)
            if "UNAVAILABLE" in status or any(w in message.lower() for w in _RETRY_WORDS):
                raise RetryableError(f"{what}: {message}") from exc
            if "DEADLINE_EXCEEDED" in status or "timed out" in message.lower():
                raise InferenceError(
                    f"triton backend at {self.url} gave no answer to {what} within "
                    f"{self.timeout_s:.0f} s; raise INFERENCE_TIMEOUT_S"
                ) from exc
            if "unknown model" in message.lower() or "not found" in message.lower():
                raise InferenceError(
                    f"triton backend at {self.url} does not serve model {self.model_name!r} "
                    f"({message}); check TRITON_MODEL_NAME and that `photodup export` ran"
                ) from exc
            raise InferenceError(f"triton backend at {self.url} failed {what}: {message}") from exc
        except OSError as exc:  # connection refused/reset from the HTTP client
            raise RetryableError(f"{what}: {type(exc).__name__}: {exc}") from exc

    def ready(self) -> bool:
        try:
            client = self._client()
            return bool(client.is_server_ready() and client.is_model_ready(self.model_name))
        except Exception:  # any failure means "not ready"; callers wait or report
            return False

    def model_config(self) -> dict[str, Any]:
        client = self._client()
        if self.protocol == "http":
            config = self._call("model config", client.get_model_config, self.model_name)
        else:
            reply = self._call(
                "model config", client.get_model_config, self.model_name, as_json=True
            )
            config = reply.get("config", {})
        return dict(config)

    def max_batch_size(self) -> int:
        if self._max_batch is None:
            size = int(self.model_config().get("max_batch_size", 0))
            if size < 1:
                raise InferenceError(
                    f"triton model {self.model_name!r} at {self.url} has max_batch_size {size}; "
                    "the client needs a batching model (re-run `photodup export`)"
                )
            self._max_batch = size
        return self._max_batch

    def info(self) -> dict[str, Any]:
        config = self.model_config()
        params = {k: v.get("string_value") for k, v in config.get("parameters", {}).items()}
        client = self._client()
        server = self._call("server metadata", client.get_server_metadata)
        if not isinstance(server, dict):
            server = {"version": server.version}
        return {
            "model_name": params.get("model_name", contract.MODEL_ARCH),
            "pretrained": params.get("pretrained"),
            "dim": contract.EMBED_DIM,
            "max_batch_size": int(config.get("max_batch_size", 0)),
            "triton_model": self.model_name,
            "triton_backend": config.get("backend") or config.get("platform"),
            "triton_version": server.get("version"),
            "dynamic_batching": config.get("dynamic_batching"),
            "instance_group": config.get("instance_group"),
        }

    def embed_tensors(self, batch: np.ndarray) -> np.ndarray:
        module = self._module
        client = self._client()
        tensor = module.InferInput(contract.INPUT_NAME, list(batch.shape), "FP32")
        wanted: Any
        if self.protocol == "http":
            tensor.set_data_from_numpy(batch, binary_data=True)
            wanted = module.InferRequestedOutput(contract.OUTPUT_NAME, binary_data=True)
            result = self._call("infer", client.infer, self.model_name, [tensor], outputs=[wanted])
        else:
            tensor.set_data_from_numpy(batch)
            wanted = module.InferRequestedOutput(contract.OUTPUT_NAME)
            result = self._call(
                "infer",
                client.infer,
                self.model_name,
                [tensor],
                outputs=[wanted],
                client_timeout=self.timeout_s,
            )
        output = result.as_numpy(contract.OUTPUT_NAME)
        expected = (batch.shape[0], contract.EMBED_DIM)
        if output is None or output.shape != expected or output.dtype != np.float32:
            got = None if output is None else (output.shape, str(output.dtype))
            raise ShapeMismatchError(
                f"triton model {self.model_name!r} at {self.url} returned {got} for "
                f"{batch.shape[0]} images, expected float32 {expected}; re-export the model "
                "(`photodup export --force`) or check TRITON_MODEL_NAME"
            )
        return output

    def close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            # Best effort: a connection that already died is as closed as it gets.
            with contextlib.suppress(Exception):
                client.close()

"""Adapter for Triton over tritonclient: HTTP with binary tensor data, or gRPC.

tritonclient's client objects are not meant to be shared between threads (the HTTP one runs on
gevent), so each calling thread gets its own, created on first use and closed with the adapter;
after a transport failure it is replaced. Failures are sorted by :mod:`triton_errors`.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import numpy as np

from photodup import contract
from photodup.client.errors import InferenceError, RetryableError, ShapeMismatchError
from photodup.client.grpc_infer import RawInfer
from photodup.client.triton_errors import translate


def host_port(url: str) -> str:
    """tritonclient wants ``host:port``; accept the usual URL spellings too."""
    for scheme in ("http://", "https://", "grpc://"):
        if url.startswith(scheme):
            url = url[len(scheme) :]
    return url.rstrip("/")


class TritonAdapter:
    backend = "triton"

    def __init__(
        self,
        url: str,
        *,
        protocol: str,
        model_name: str,
        timeout_s: float,
        use_uint8: bool = True,
    ) -> None:
        self.protocol = protocol
        self.url = f"http://{host_port(url)}" if protocol == "http" else host_port(url)
        self.model_name = model_name
        self.timeout_s = timeout_s
        self._local = threading.local()
        self._clients: list[Any] = []
        self._lock = threading.Lock()
        self._max_batch: int | None = None
        self.use_uint8 = use_uint8
        self._uint8: bool | None = None
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

    def _drop_client(self) -> None:
        """Forget this thread's client after a transport failure; the next call makes a new one.

        A gRPC channel whose server died stays in reconnect backoff for a second or more after
        the server is back, and a gevent connection can be left half-closed: a fresh client
        talks to the restarted server at once.
        """
        for attribute in ("client", "raw"):
            client = getattr(self._local, attribute, None)
            setattr(self._local, attribute, None)
            if client is not None:
                with self._lock:
                    if client in self._clients:
                        self._clients.remove(client)
                with contextlib.suppress(Exception):
                    client.close()

    def _raw(self) -> RawInfer:
        raw = getattr(self._local, "raw", None)
        if raw is None:
            raw = RawInfer(host_port(self.url))
            self._local.raw = raw
            with self._lock:
                self._clients.append(raw)
        return raw

    def _call_raw(self, model: contract.ServedModel, batch: np.ndarray) -> np.ndarray:
        try:
            return self._raw()(model, batch, self.timeout_s)
        except Exception as exc:
            try:
                translate(
                    exc,
                    what="infer",
                    url=self.url,
                    protocol=self.protocol,
                    model=model.name,
                    timeout_s=self.timeout_s,
                )
            except RetryableError:
                self._drop_client()
                raise

    def _call(self, what: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``method`` of this thread's tritonclient; every failure becomes ours."""
        try:
            return getattr(self._client(), method)(*args, **kwargs)
        except Exception as exc:
            try:
                translate(
                    exc,
                    what=what,
                    url=self.url,
                    protocol=self.protocol,
                    model=self.model_name,
                    timeout_s=self.timeout_s,
                )
            except RetryableError:
                self._drop_client()
                raise

    def probe(self) -> bool:
        """True when server and model are ready, False while down or loading; raises
        :class:`InferenceError` when waiting cannot help (wrong port or protocol, bad host)."""
        kwargs: dict[str, Any] = {}
        if self.protocol == "grpc":
            kwargs["client_timeout"] = min(self.timeout_s, 5.0)
        try:
            if not self._call("readiness check", "is_server_ready", **kwargs):
                return False
            if not self._call("readiness check", "is_model_ready", self.model_name, **kwargs):
                return False
            # Any HTTP server answers 200 to a health URL (Triton's metrics port does): the
            # model's metadata proves it is Triton serving this model.
            self._call("model metadata", "get_model_metadata", self.model_name, **kwargs)
        except RetryableError:
            return False
        return True

    def ready(self) -> bool:
        try:
            return self.probe()
        except InferenceError:  # any failure means "not ready"; probe() says why
            return False

    def model_config(self) -> dict[str, Any]:
        if self.protocol == "http":
            config = self._call("model config", "get_model_config", self.model_name)
        else:
            reply = self._call("model config", "get_model_config", self.model_name, as_json=True)
            config = reply.get("config", {}) if isinstance(reply, dict) else {}
        if not isinstance(config, dict):
            raise InferenceError(
                f"triton backend at {self.url} ({self.protocol}) answered the model config "
                f"request with {type(config).__name__}, not a model config; is it Triton?"
            )
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
        server = self._call("server metadata", "get_server_metadata")
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

    def uint8_available(self) -> bool:
        """Whether to send uint8 pixels: the server offers the uint8 model beside ours.

        Asked once (model ready over the protocol in use) and remembered; only for the seed's
        fp32 model, since the uint8 model is built from that one's graph.
        """
        if self._uint8 is None:
            if not self.use_uint8 or self.model_name != contract.TRITON_MODEL_NAME:
                self._uint8 = False
            else:
                try:
                    ready = self._call("model ready", "is_model_ready", contract.UINT8_MODEL_NAME)
                except InferenceError:
                    ready = False
                self._uint8 = bool(ready)
        return self._uint8

    def embed_tensors(self, batch: np.ndarray) -> np.ndarray:
        """float32 normalised [N, 3, 224, 224] through the configured (fp32) model."""
        model = contract.ServedModel(self.model_name, contract.INPUT_NAME, "FP32")
        return self._infer(model, batch)

    def embed_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """uint8 [N, 3, 224, 224] through the uint8 model (call :meth:`uint8_available`)."""
        return self._infer(contract.UINT8_MODEL, pixels)

    def _infer(self, model: contract.ServedModel, batch: np.ndarray) -> np.ndarray:
        output: np.ndarray | None
        if self.protocol == "grpc":
            output = self._call_raw(model, batch)  # see grpc_infer: one copy, not three
        else:
            module = self._module
            tensor = module.InferInput(model.input_name, list(batch.shape), model.input_dtype)
            tensor.set_data_from_numpy(batch, binary_data=True)
            wanted = module.InferRequestedOutput(contract.OUTPUT_NAME, binary_data=True)
            result = self._call("infer", "infer", model.name, [tensor], outputs=[wanted])
            output = result.as_numpy(contract.OUTPUT_NAME)
        expected = (batch.shape[0], contract.EMBED_DIM)
        if output is None or output.shape != expected or output.dtype != np.float32:
            got = None if output is None else (output.shape, str(output.dtype))
            raise ShapeMismatchError(
                f"triton model {model.name!r} at {self.url} returned {got} for "
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

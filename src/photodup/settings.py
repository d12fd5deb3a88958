"""Typed settings for the inference stack, read from the documented environment variables.

Each deployable builds the object it needs once (``get_*_settings``); nothing else reads the
environment. Every field appears in ``.env.example`` (a test checks it).
"""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from photodup import contract

Backend = Literal["pytorch", "triton"]
Protocol = Literal["http", "grpc"]
Device = Literal["auto", "cpu", "cuda"]


class _Base(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", protected_namespaces=())


class ModelSettings(_Base):
    """Which OpenCLIP weights to build; shared by the exporter and the PyTorch service."""

    model_name: str = Field(contract.MODEL_ARCH, validation_alias="MODEL_NAME")
    pretrained: str = Field(contract.DEFAULT_PRETRAINED, validation_alias="PRETRAINED")
    checkpoint: Path | None = Field(None, validation_alias="MODEL_CHECKPOINT")
    seed: int = Field(contract.DEFAULT_SEED, validation_alias="MODEL_SEED")
    device: Device = Field("auto", validation_alias="DEVICE")
    model_repository: Path = Field(Path("model_repository"), validation_alias="MODEL_REPOSITORY")


class ServiceSettings(ModelSettings):
    """The PyTorch FastAPI service (``photodup serve``)."""

    host: str = Field("127.0.0.1", validation_alias="SERVICE_HOST")
    port: int = Field(8002, validation_alias="SERVICE_PORT")
    max_batch_size: int = Field(contract.MAX_BATCH_SIZE, validation_alias="MAX_BATCH_SIZE", ge=1)
    #: Server-side micro-batching: concurrent requests are queued and run as one batch.
    batching: bool = Field(False, validation_alias="BATCHING_ENABLED")
    batch_window_ms: float = Field(5.0, validation_alias="BATCH_WINDOW_MS", ge=0)
    #: Images waiting for the model at most; beyond it requests get 503 rather than queueing.
    max_queue_images: int = Field(512, validation_alias="MAX_QUEUE_IMAGES", ge=1)
    max_image_bytes: int = Field(50 * 1024 * 1024, validation_alias="MAX_IMAGE_BYTES", ge=1)


class TritonSettings(_Base):
    """The local Triton server started by ``photodup triton``."""

    model_repository: Path = Field(Path("model_repository"), validation_alias="MODEL_REPOSITORY")
    http_port: int = Field(8003, validation_alias="TRITON_HTTP_PORT")
    grpc_port: int = Field(8004, validation_alias="TRITON_GRPC_PORT")
    metrics_port: int = Field(8005, validation_alias="TRITON_METRICS_PORT")
    host: str = Field("127.0.0.1", validation_alias="TRITON_HOST")
    startup_timeout_s: float = Field(180.0, validation_alias="TRITON_STARTUP_TIMEOUT_S")
    log_verbose: int = Field(0, validation_alias="TRITON_LOG_VERBOSE")


class ClientSettings(_Base):
    """The one inference client used by the scan, the UI and the bench."""

    backend: Backend = Field("pytorch", validation_alias="INFERENCE_BACKEND")
    #: Defaults by backend: pytorch http://localhost:8002, triton http localhost:8003,
    #: triton grpc localhost:8004.
    url: str | None = Field(None, validation_alias="INFERENCE_SERVICE_URL")
    protocol: Protocol = Field("http", validation_alias="INFERENCE_PROTOCOL")
    triton_model_name: str = Field(contract.TRITON_MODEL_NAME, validation_alias="TRITON_MODEL_NAME")
    #: Send uint8 pixels to Triton's openclip_vit_b32_uint8 when the server offers it (a
    #: quarter of the bytes); off: always float32 to TRITON_MODEL_NAME.
    triton_uint8: bool = Field(True, validation_alias="TRITON_UINT8")
    timeout_s: float = Field(60.0, validation_alias="INFERENCE_TIMEOUT_S", gt=0)
    retries: int = Field(3, validation_alias="INFERENCE_RETRIES", ge=0)
    #: Images per request sent to the PyTorch service (Triton uses the model's max_batch_size).
    batch_size: int = Field(contract.MAX_BATCH_SIZE, validation_alias="INFERENCE_BATCH_SIZE", ge=1)


@lru_cache
def get_service_settings() -> ServiceSettings:
    return ServiceSettings()


@lru_cache
def get_triton_settings() -> TritonSettings:
    return TritonSettings()


def get_client_settings() -> ClientSettings:
    # Not cached: tests and the UI switch backends by changing the environment.
    return ClientSettings()

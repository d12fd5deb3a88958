"""Settings of the review page (``photodup ui``), read from ``PHOTODUP_UI_*`` variables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from photodup.client.client import DEFAULT_URLS
from photodup.settings import Backend, get_client_settings
from photodup.ui.paging import MAX_PER_PAGE

_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")


@dataclass(frozen=True)
class BackendChoice:
    """One inference backend a person can pick for the next scan."""

    backend: Backend
    url: str
    protocol: str = "http"

    @property
    def label(self) -> str:
        via = " (gRPC)" if self.protocol == "grpc" else ""
        return f"{self.backend} at {self.url}{via}"


class UiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PHOTODUP_UI_", env_file=None, extra="ignore")

    #: Loopback by default: the page can move files, so it is not offered to the network.
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    #: The photo library to review (``--library``); required by ``photodup ui``.
    library: Path | None = None
    #: Index file; empty means ``PHOTODUP_DB_PATH`` or ``<library>/.photodup/index.db``.
    db: Path | None = None
    #: Backends offered for the next scan, ``name=url`` pairs separated by commas, e.g.
    #: ``pytorch=http://127.0.0.1:8002,triton=http://127.0.0.1:8003`` (Triton over gRPC:
    #: ``triton=grpc://127.0.0.1:8004``). Empty: the one
    #: configured by ``INFERENCE_BACKEND`` / ``INFERENCE_SERVICE_URL``.
    backends: str = ""
    #: Extra ``Host`` header values accepted besides loopback names and ``host`` itself
    #: (a guard against DNS rebinding); ``*`` accepts any.
    allowed_hosts: str = ""
    #: Longest side of cached thumbnails, in pixels.
    thumb_size: int = Field(default=360, ge=64, le=2048)
    #: Longest side of the on-demand full-size view (larger photos are scaled down).
    full_max_side: int = Field(default=4096, ge=256)
    #: Groups per page of the group list (``?per_page=`` overrides it, up to 200).
    page_size: int = Field(default=48, ge=1, le=MAX_PER_PAGE)

    def backend_choices(self) -> list[BackendChoice]:
        """The backends to offer, first the default; a malformed entry raises ValueError."""
        if not self.backends.strip():
            client = get_client_settings()
            proto = "http" if client.backend == "pytorch" else client.protocol
            url = client.url or DEFAULT_URLS[(client.backend, proto)]
            return [BackendChoice(client.backend, url, proto)]
        choices = []
        for item in self.backends.split(","):
            name, sep, url = item.strip().partition("=")
            if not sep or name.strip() not in ("pytorch", "triton") or not url.strip():
                raise ValueError(
                    f"PHOTODUP_UI_BACKENDS entry {item.strip()!r}: expected name=url with name "
                    "pytorch or triton, e.g. pytorch=http://127.0.0.1:8002"
                )
            url = url.strip()
            # Triton over gRPC is written grpc://host:port; the client wants host:port.
            proto = "grpc" if url.startswith("grpc://") else "http"
            url = url.removeprefix("grpc://")
            choices.append(BackendChoice(name.strip(), url, proto))  # type: ignore[arg-type]
        return choices

    def host_allowlist(self) -> list[str]:
        extra = [h.strip() for h in self.allowed_hosts.split(",") if h.strip()]
        if "*" in extra or self.host in ("0.0.0.0", "::"):
            return ["*"]  # bound to every interface on purpose (e.g. in a container)
        return [*_LOOPBACK_HOSTS, self.host, *extra]

"""Problems a request can have, described without HTTP so the model layer stays transport-free.

Each problem has a ``category`` that the transport maps to a status code (see
``photodup.serving.routes.STATUS_BY_CATEGORY``) and a machine-readable ``kind``; per-image
problems carry the index of every bad image, never only the first.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Category = Literal["invalid", "too_large", "unsupported_media", "unavailable"]


@dataclass(frozen=True)
class ItemProblem:
    """One bad image in a request: its position, what is wrong and the decoder's kind."""

    index: int
    error: str
    kind: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RequestProblem(Exception):
    """A request the service refuses, with a message that says what to do instead."""

    message: str
    kind: str
    category: Category = "invalid"
    items: list[ItemProblem] = field(default_factory=list)
    #: Extra facts for the body, e.g. the limit that was exceeded.
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        detail: dict[str, Any] = {"error": self.message, "kind": self.kind}
        detail.update(self.extra)
        detail["items"] = [item.as_dict() for item in self.items]
        return {"detail": detail}


def invalid(message: str, kind: str, items: list[ItemProblem] | None = None) -> RequestProblem:
    return RequestProblem(message, kind, "invalid", items or [])


def too_large(message: str, kind: str, **extra: Any) -> RequestProblem:
    return RequestProblem(message, kind, "too_large", extra=extra)


def unavailable(message: str, kind: str) -> RequestProblem:
    return RequestProblem(message, kind, "unavailable")

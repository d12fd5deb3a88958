"""Where each image's Dockerfile lives, and a small parser of their instructions."""

from __future__ import annotations

import re
from pathlib import Path

from deploy.stack import REPO

BASE = REPO / "services" / "base" / "Dockerfile"
TRITON = REPO / "services" / "triton" / "Dockerfile"
STANDIN = REPO / "services" / "triton" / "standin" / "Dockerfile"
#: Compose service -> the folder (build context) holding its Dockerfile.
DEPLOYABLES = {
    "exporter": REPO / "exporter",
    "inference-pytorch": REPO / "services" / "pytorch",
    "ui": REPO / "services" / "ui",
    "bench": REPO / "bench",
}
ALL = (BASE, TRITON, STANDIN, *(folder / "Dockerfile" for folder in DEPLOYABLES.values()))


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    joined = re.sub(r"\\\n(\s*#.*\n)*", " ", path.read_text())
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), re.sub(r"\s+", " ", rest.strip())))
    return out


def stages(path: Path) -> dict[str, list[tuple[str, str]]]:
    """Stage name (or the image for an unnamed stage) -> its instructions."""
    found: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for keyword, rest in instructions(path):
        if keyword == "FROM":
            current = []
            found[rest.split(" AS ")[-1].strip()] = current
        current.append((keyword, rest))
    return found


def arg_default(path: Path, name: str) -> str:
    (default,) = re.findall(rf"^ARG {name}=(\S+)$", path.read_text(), re.MULTILINE)
    return default

"""The ``tritonserver`` binary and Python backend shipped in the nvidia-pytriton wheel.

Triton loads a backend from ``<backend-directory>/<name>/``; the Python backend needs its
shared library, its utilities module and a stub built for the running interpreter side by side.
The wheel keeps the stubs apart (one per Python version), so a backend directory is assembled
once in a cache folder and reused.
"""

from __future__ import annotations

import shutil
import sys
import sysconfig
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path


class TritonLaunchError(RuntimeError):
    """Triton cannot be started or did not become ready; the message says why and what to do."""


@dataclass(frozen=True)
class TritonDistribution:
    binary: Path
    python_backend: Path
    stub: Path
    libs: Path
    version: str


def find_distribution() -> TritonDistribution:
    """Locate the pieces inside the installed nvidia-pytriton wheel."""
    try:
        import pytriton
    except ImportError as exc:
        raise TritonLaunchError(
            "nvidia-pytriton is not installed; it provides the local tritonserver binary "
            "(run `make install`)"
        ) from exc
    root = Path(pytriton.__file__).parent / "tritonserver"
    python_tag = f"{sys.version_info.major}.{sys.version_info.minor}"
    dist = TritonDistribution(
        binary=root / "bin" / "tritonserver",
        python_backend=root / "backends" / "python",
        stub=root / "python_backend_stubs" / python_tag / "triton_python_backend_stub",
        libs=Path(pytriton.__file__).parent.parent / "nvidia_pytriton.libs",
        version=metadata.version("nvidia-pytriton"),
    )
    for piece in (dist.binary, dist.python_backend / "libtriton_python.so", dist.stub):
        if not piece.exists():
            raise TritonLaunchError(
                f"{piece} is missing from nvidia-pytriton {dist.version} "
                f"(Python {python_tag} stub needed); reinstall it with `make install`"
            )
    return dist


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "photodup" / "triton"


def prepare_backend_dir(dist: TritonDistribution, cache_dir: Path | None = None) -> Path:
    """Return a ``--backend-directory`` holding ``python/`` with the matching stub."""
    python_tag = f"py{sys.version_info.major}{sys.version_info.minor}"
    root = (cache_dir or default_cache_dir()) / f"backends-{dist.version}-{python_tag}"
    target = root / "python"
    wanted = {
        "libtriton_python.so": dist.python_backend / "libtriton_python.so",
        "triton_python_backend_utils.py": dist.python_backend / "triton_python_backend_utils.py",
        "triton_python_backend_stub": dist.stub,
    }
    target.mkdir(parents=True, exist_ok=True)
    for name, source in wanted.items():
        dest = target / name
        if dest.exists() and dest.stat().st_size == source.stat().st_size:
            continue
        # Copy to a temporary name and rename so concurrent launches never see half a file.
        tmp = dest.with_name(f".{name}.tmp")
        shutil.copy2(source, tmp)
        tmp.replace(dest)
    return root


def server_environment(dist: TritonDistribution, base: dict[str, str]) -> dict[str, str]:
    """Environment for ``tritonserver`` so its Python stub embeds this interpreter.

    The stub links ``libpython3.x.so``: LD_LIBRARY_PATH puts this interpreter's copy (sysconfig
    LIBDIR) first, then the wheel's bundled libraries. The stub's embedded Python ignores
    PYTHONPATH, but it finds ``python3`` on PATH and takes its prefix from it, so putting this
    environment's ``bin`` first gives ``model.py`` the venv's site-packages (numpy, onnxruntime).
    """
    env = dict(base)
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    lib_path = [p for p in (libdir, str(dist.libs), env.get("LD_LIBRARY_PATH", "")) if p]
    env["LD_LIBRARY_PATH"] = ":".join(lib_path)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = ":".join(p for p in (bin_dir, env.get("PATH", "")) if p)
    return env

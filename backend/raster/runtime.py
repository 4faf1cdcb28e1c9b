"""Which engine runs a classifier's tiles: PyTorch, or ONNX Runtime from a cached export.

ONNX Runtime (``pip install onnxruntime``, optional) runs fp32 convolutions
faster than PyTorch on CPUs, so ``auto`` hands it the runs that PyTorch would
run in fp32: those too short for bf16 or int8 calibration to pay (see
:class:`backend.raster.predictor.TilePredictor`). Its model is the classifier
exported to ONNX with batch norms folded (:func:`backend.onnx_export.export_onnx`),
made once per model file and kept in a cache folder under the file's SHA-256,
so later runs only open it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: engine settings
ENGINES = ("auto", "torch", "onnxruntime")
#: environment variable naming the engine cache folder
CACHE_ENV = "SOUNDING_EARTH_ENGINE_CACHE"
#: environment variable giving the engine cache's size limit in MB
CACHE_LIMIT_ENV = "SOUNDING_EARTH_ENGINE_CACHE_MB"
#: default size limit of the engine cache (about 17 ResNet-18 models with their int8 builds)
CACHE_LIMIT_MB = 1000
#: bytes read at a time when hashing a model file
_HASH_CHUNK = 1 << 20


class EngineError(ValueError):
    """An engine was asked for that cannot run here (named, with what is missing)."""


def engine_cache_folder() -> Path:
    """``$SOUNDING_EARTH_ENGINE_CACHE``, else ``$XDG_CACHE_HOME/sounding-earth/engine``
    (``~/.cache/sounding-earth/engine``)."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sounding-earth" / "engine"


#: digests computed in this process, by (path, size, modification time, inode)
_DIGESTS: dict[tuple[str, int, int, int], str] = {}


def model_digest(path: str | os.PathLike) -> str:
    """SHA-256 (hex) of a model file's bytes: the cache key, so any change invalidates it.

    Remembered in this process while the file's size, modification time and inode stay
    the same (a run asks twice: once to plan, once to open; each read costs 30 ms per
    40 MB).
    """
    status = os.stat(path)
    key = (os.fspath(Path(path).resolve()), status.st_size, status.st_mtime_ns, status.st_ino)
    if key in _DIGESTS:
        return _DIGESTS[key]
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_HASH_CHUNK), b""):
            digest.update(chunk)
    _DIGESTS[key] = digest.hexdigest()
    return _DIGESTS[key]


def onnxruntime_available() -> bool:
    """Whether the ``onnxruntime`` package is installed."""
    return importlib.util.find_spec("onnxruntime") is not None


def cached_onnx_path(model_path: str | os.PathLike, cache: Path | None = None) -> Path:
    """Where :func:`cached_onnx` keeps the export of ``model_path`` (made or not)."""
    folder = cache if cache is not None else engine_cache_folder()
    return folder / f"{model_digest(model_path)}.onnx"


def cached_onnx(model_path: str | os.PathLike, cache: Path | None = None) -> tuple[Path, bool]:
    """The classifier in ``model_path`` as ONNX, from the cache or exported into it.

    The file is named after the model file's SHA-256 and written atomically (a
    cancelled or failed export leaves nothing in the cache).

    Returns:
        The ONNX file and whether it was already cached.
    """
    from backend.onnx_export import export_onnx

    path = cached_onnx_path(model_path, cache)
    folder = path.parent
    if path.is_file():
        with contextlib.suppress(OSError):
            os.utime(path)  # last used: what prune_cache keeps
        return path, True
    folder.mkdir(parents=True, exist_ok=True)
    export_onnx(model_path, path)
    log.info("exported %s to ONNX for ONNX Runtime: %s", model_path, path)
    prune_cache(folder, keep=path)
    return path, False


def prepare_engine(model_path: str | os.PathLike) -> Path | None:
    """Put a classifier model file just written into the engine cache now.

    Its first classification then opens the ONNX export instead of making it (about
    0.7 s for a ResNet-18, which a small raster would otherwise pay in full), and a
    training run that takes minutes hardly notices. Only where ``classify --engine
    auto`` on this machine would use ONNX Runtime: the model runs on the CPU
    (``--device auto`` finds no GPU) and onnxruntime is installed. An export that
    fails (a full disk, a read-only cache) is logged and costs only that later
    export.

    Returns:
        The cached export, or None where none was made.
    """
    from backend.device import resolve_device

    if not onnxruntime_available() or resolve_device("auto").type != "cpu":
        return None
    try:
        path, _ = cached_onnx(model_path)
    except Exception as exc:  # the model file is saved; the engine is made when first needed
        log.warning(
            "could not prepare ONNX Runtime for %s now (%s); its first classification "
            "exports it instead",
            model_path,
            exc,
        )
        return None
    return path


def prune_cache(
    folder: Path, limit_bytes: int | None = None, keep: Path | None = None
) -> list[str]:
    """Remove the least recently used models from the engine cache until it fits.

    A model's files share the SHA-256 prefix of their names (``<sha>.onnx`` and the
    int8 build and record beside it) and go together; a model counts as used when
    its export was last opened (:func:`cached_onnx` touches it). ``keep``'s model
    stays whatever the size.

    Args:
        folder: The engine cache.
        limit_bytes: Size to fit in (default ``$SOUNDING_EARTH_ENGINE_CACHE_MB`` MB, else
            :data:`CACHE_LIMIT_MB`).
        keep: A file of the model that must stay (the one just exported).

    Returns:
        The SHA-256 prefixes removed.
    """
    if limit_bytes is None:
        limit_bytes = int(float(os.environ.get(CACHE_LIMIT_ENV, CACHE_LIMIT_MB)) * 1e6)
    groups: dict[str, list[Path]] = {}
    for entry in folder.iterdir():
        digest = entry.name.split(".", 1)[0]
        if entry.is_file() and len(digest) == 64 and not entry.name.startswith("."):
            groups.setdefault(digest, []).append(entry)

    def last_used(files: list[Path]) -> float:
        return max(f.stat().st_mtime for f in files)

    total = sum(f.stat().st_size for files in groups.values() for f in files)
    kept = keep.name.split(".", 1)[0] if keep is not None else None
    removed = []
    for digest, files in sorted(groups.items(), key=lambda item: last_used(item[1])):
        if total <= limit_bytes:
            break
        if digest == kept:
            continue
        for f in files:
            with contextlib.suppress(OSError):
                size = f.stat().st_size
                f.unlink()
                total -= size
        removed.append(digest)
    if removed:
        log.info(
            "engine cache over %.0f MB: removed %d least recently used model(s)",
            limit_bytes / 1e6,
            len(removed),
        )
    return removed


class OnnxPredictor:
    """Pixels ``[B, T, T, C]`` → logits ``[B, K]`` through an ONNX Runtime session (fp32)."""

    precision = "fp32"
    #: what runs and why, for the log and the result
    choice = "fp32"

    def __init__(
        self, onnx_path: str | os.PathLike, normalization: Mapping[str, Any], threads: int
    ) -> None:
        """Open ``onnx_path`` (an :func:`backend.onnx_export.export_onnx` file) on the CPU."""
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            str(onnx_path), options, providers=["CPUExecutionProvider"]
        )
        self.input_name = self.session.get_inputs()[0].name
        self.normalization = dict(normalization)

    def inputs(self, pixels: np.ndarray) -> np.ndarray:
        """The model's input for a batch of pixels: float32 ``[B, C, T, T]``, scaled."""
        from backend.radiometry import prescale

        return prescale(pixels, self.normalization).contiguous().numpy()

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        """Logits of a batch."""
        return self.session.run(["logits"], {self.input_name: self.inputs(pixels)})[0]


def choose_engine(
    engine: str, device_type: str, torch_precision: str, onnx_precision: str = "fp32"
) -> tuple[str, str]:
    """The engine for a classification and why: ``(name, reason)``.

    ``auto`` picks ONNX Runtime, when it is installed, where it would run int8
    (:func:`backend.raster.onnx_int8.plan_precision`: its int8 convolutions beat
    PyTorch's bf16 and int8 on CPUs), and where PyTorch would run fp32 on the CPU
    (a run too short for bf16 or int8 to pay, or a model int8 does not apply to):
    its fp32 convolutions are faster too; PyTorch otherwise.

    Args:
        engine: ``auto``, ``torch`` or ``onnxruntime``.
        device_type: ``cpu``, ``cuda``, ...
        torch_precision: The precision PyTorch would choose (``fp32``, ``bf16``, ``int8``).
        onnx_precision: The precision ONNX Runtime would run (``fp32`` or ``int8``).

    Raises:
        EngineError: Unknown engine, or ONNX Runtime asked for where it cannot run.
    """
    if engine not in ENGINES:
        raise EngineError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine == "onnxruntime":
        if device_type != "cpu":
            raise EngineError("--engine onnxruntime runs on the CPU: use --device cpu")
        if not onnxruntime_available():
            raise EngineError(
                "--engine onnxruntime needs the onnxruntime package (pip install onnxruntime)"
            )
        return "onnxruntime", "asked for"
    if engine == "torch":
        return "torch", "asked for"
    if device_type != "cpu":
        return "torch", f"the model runs on {device_type}"
    if onnx_precision == "int8" and onnxruntime_available():
        return "onnxruntime", "its int8 is the fastest way to run this model on the CPU"
    if torch_precision != "fp32":
        return "torch", f"PyTorch runs it in {torch_precision}"
    if not onnxruntime_available():
        return "torch", "onnxruntime is not installed"
    return "onnxruntime", "PyTorch would run fp32 on the CPU, where ONNX Runtime's fp32 is faster"

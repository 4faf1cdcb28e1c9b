"""The Sounding Earth model file: one .safetensors file holding weights and a metadata header."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from backend.atomic import atomic_path
from backend.download import sha256_file
from backend.models.encoders import (
    IMAGE_MEAN,
    IMAGE_STD,
    AudiovisualModel,
    torch_load_tensors,
)
from backend.radiometry import check_normalization

FORMAT_VERSION = "1"
KINDS = ("audiovisual", "classifier", "segmentation")
#: encoder families: this project's encoders, or the paper's own (backend.models.reference)
FAMILIES = ("native", "reference")

# Header keys: scalars are stored as plain strings, structures as JSON.
_REQUIRED_KEYS = (
    "format_version",
    "kind",
    "image_arch",
    "embed_dim",
    "bands",
    "normalization",
    "tile_px",
)
_JSON_KEYS = (
    "bands",
    "normalization",
    "class_names",
    "class_colors",
    "provenance",
    "extra",
    "spectrogram",
    "widths",
)
#: the encoders whose widths a reference-family file records
_WIDTH_ENCODERS = ("image", "audio")


class ModelFileError(ValueError):
    """A file is not a valid Sounding Earth model file (or cannot be imported as one)."""


def state_dict_mismatch(
    expected: dict[str, torch.Tensor], state: dict[str, torch.Tensor], limit: int = 8
) -> str | None:
    """How ``state`` fails to fit ``expected`` (missing, unexpected, wrong-shape keys), or None."""
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape)
    parts = [
        f"{label}: {', '.join(keys[:limit])}{' ...' if len(keys) > limit else ''}"
        for label, keys in (
            ("missing", missing),
            ("unexpected", unexpected),
            ("wrong shape", wrong),
        )
        if keys
    ]
    return "; ".join(parts) or None


def _default_normalization() -> dict[str, Any]:
    return {"mean": list(IMAGE_MEAN), "std": list(IMAGE_STD), "scale": 255.0}


@dataclass
class ModelMetadata:
    """Everything needed to use a model file without any other settings.

    Attributes:
        kind: ``"audiovisual"`` (image + audio encoders), ``"classifier"`` or
            ``"segmentation"`` (per-pixel classes, :mod:`backend.models.deeplab`).
        image_arch: Image trunk architecture, e.g. ``"resnet18"``.
        audio_arch: Audio trunk architecture (``None`` for a classifier).
        embed_dim: Embedding size.
        bands: 1-based raster band indices fed to the image encoder, in order.
        normalization: How raster values become model inputs (see ``backend.radiometry``):
            legacy ``{"mean": [...], "std": [...], "scale": 255.0}`` (pixels divided by
            ``scale``) or ``{"kind": "robust", "low", "high", "mean", "std", "dtype",
            "bands"}`` (pixels clipped to ``[low, high]`` and scaled to [0, 1]); then
            standardised with ``mean``/``std``.
        tile_px: Input tile size in pixels.
        resolution_m: Ground metres per pixel the model was trained at, if known.
        class_names: Class names of a classifier, in output order.
        class_colors: Hex colours (``"#rrggbb"``) for the classes.
        provenance: How the model was made (command, dataset, epochs, date, commit...).
        extra: Anything else, JSON-serialisable.
        family: Encoder architecture family: ``"native"`` (this project's encoders,
            backend.models.encoders) or ``"reference"`` (the paper's own code's,
            backend.models.reference, for imported checkpoints). Files written
            before the field existed are native.
        spectrogram: The spectrogram encoding an audiovisual model was trained on,
            as ``backend.audio.encoding_metadata`` describes it (``{"encoding":
            "logmel" | "jpg", ...parameters}``). ``None`` in files written before
            the field existed: ``backend.audio.model_encoding`` gives their default.
        widths: For the ``reference`` family: each trunk's stem and stage widths,
            ``{"image": [stem, s1, s2, s3, s4], "audio": [...]}`` (an audiovisual
            file has both, a classifier or segmentation file ``image``), as
            ``backend.models.reference.Widths.to_list`` writes them. ``None`` in
            reference files written before the field existed: they hold the
            2c55025 layout (``backend.models.reference.LEGACY_WIDTHS``).
    """

    kind: str
    image_arch: str = "resnet18"
    audio_arch: str | None = None
    embed_dim: int = 128
    bands: list[int] = field(default_factory=lambda: [1, 2, 3])
    normalization: dict[str, Any] = field(default_factory=_default_normalization)
    tile_px: int = 192
    resolution_m: float | None = None
    class_names: list[str] = field(default_factory=list)
    class_colors: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    family: str = "native"
    spectrogram: dict[str, Any] | None = None
    widths: dict[str, list[int]] | None = None

    def __post_init__(self) -> None:
        """Check that the fields are consistent."""
        if self.kind not in KINDS:
            raise ModelFileError(f"model kind must be one of {list(KINDS)}, got {self.kind!r}")
        if self.family not in FAMILIES:
            raise ModelFileError(
                f"model family must be one of {list(FAMILIES)}, got {self.family!r}; "
                "update the plugin"
            )
        if self.kind == "audiovisual" and not self.audio_arch:
            raise ModelFileError("an audiovisual model needs audio_arch")
        if (
            not isinstance(self.bands, list)
            or not self.bands
            or any(not isinstance(b, int) or b < 1 for b in self.bands)
        ):
            raise ModelFileError(f"bands must be 1-based band numbers, got {self.bands!r}")
        if self.class_colors and len(self.class_colors) != len(self.class_names):
            raise ModelFileError(
                f"{len(self.class_colors)} class colours for {len(self.class_names)} classes"
            )
        if not isinstance(self.normalization, dict):
            raise ModelFileError(f"normalization must be a mapping, got {self.normalization!r}")
        problem = check_normalization(self.normalization, len(self.bands))
        if problem:
            raise ModelFileError(problem)
        if self.widths is not None:
            self._check_widths()
        if self.spectrogram is not None:
            from backend.audio import ENCODINGS

            encoding = (
                self.spectrogram.get("encoding") if isinstance(self.spectrogram, dict) else None
            )
            if encoding not in ENCODINGS:
                raise ModelFileError(
                    f"spectrogram encoding must be one of {list(ENCODINGS)}, got "
                    f"{self.spectrogram!r}; update the plugin"
                )

    def _check_widths(self) -> None:
        if self.family != "reference":
            raise ModelFileError(
                f"widths are recorded for reference-family models only, not {self.family}"
            )
        ok = isinstance(self.widths, dict) and set(self.widths) <= set(_WIDTH_ENCODERS)
        for values in self.widths.values() if ok else ():
            ok = ok and isinstance(values, list) and len(values) == 5
            ok = ok and all(
                isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values
            )
        if not ok:
            raise ModelFileError(
                "widths must map 'image' and/or 'audio' to [stem, stage1, stage2, stage3, stage4] "
                f"(positive integers), got {self.widths!r}"
            )

    def to_header(self) -> dict[str, str]:
        """The safetensors metadata header (string to string)."""
        header = {"format_version": FORMAT_VERSION}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            header[f.name] = json.dumps(value) if f.name in _JSON_KEYS else str(value)
        return header

    @classmethod
    def from_header(cls, header: Mapping[str, str] | None, source: str = "") -> ModelMetadata:
        """Parse a metadata header written by ``to_header``.

        Args:
            header: The safetensors metadata.
            source: File name used in error messages.

        Raises:
            ModelFileError: Keys are missing, malformed, or the format version is unsupported.
        """
        where = f"{source}: " if source else ""
        header = dict(header or {})
        missing = [k for k in _REQUIRED_KEYS if k not in header]
        if missing:
            raise ModelFileError(
                f"{where}not a Sounding Earth model file: metadata lacks {', '.join(missing)}"
            )
        if header["format_version"] != FORMAT_VERSION:
            raise ModelFileError(
                f"{where}unsupported model file format version {header['format_version']!r} "
                f"(this version reads {FORMAT_VERSION!r}); update the plugin"
            )
        values: dict[str, Any] = {}
        current = ""
        try:
            for f in dataclasses.fields(cls):
                if f.name not in header:
                    continue
                raw = header[f.name]
                current = f.name
                if f.name in _JSON_KEYS:
                    values[f.name] = json.loads(raw)
                elif f.name in ("embed_dim", "tile_px"):
                    values[f.name] = int(raw)
                elif f.name == "resolution_m":
                    values[f.name] = float(raw)
                else:
                    values[f.name] = raw
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            raise ModelFileError(f"{where}malformed metadata {current!r}: {exc}") from exc
        try:
            return cls(**values)
        except ModelFileError as exc:
            raise ModelFileError(f"{where}{exc}") from exc


def _cpu_tensors(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Contiguous CPU tensors, each owning its storage (safetensors refuses shared memory)."""
    out: dict[str, torch.Tensor] = {}
    seen: set[int] = set()
    for name, tensor in state_dict.items():
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"state dict entry {name!r} is {type(tensor).__name__}, not a tensor")
        t = tensor.detach().to("cpu").contiguous()
        storage = t.untyped_storage()
        owns_storage = t.storage_offset() == 0 and t.numel() * t.element_size() == storage.nbytes()
        if storage.data_ptr() in seen or not owns_storage:
            t = t.clone()
        seen.add(t.untyped_storage().data_ptr())
        out[name] = t
    return out


def save_model_file(
    path: str | os.PathLike, state_dict: Mapping[str, torch.Tensor], metadata: ModelMetadata
) -> None:
    """Write weights and metadata to one ``.safetensors`` file, atomically.

    Args:
        path: Output file (conventionally ending in ``.safetensors``).
        state_dict: Tensors by name (any device; tied tensors are saved separately).
        metadata: The model's metadata.
    """
    from safetensors.torch import save_file

    tensors = _cpu_tensors(state_dict)
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata.to_header())


def _not_a_model_file(path: Path, detail: str) -> ModelFileError:
    hint = ""
    if path.suffix.lower() in (".pt", ".pth", ".ckpt"):
        hint = "; import a checkpoint of the paper's code with python -m backend import-reference"
    return ModelFileError(
        f"{path}: not a Sounding Earth model file (expected .safetensors with a Sounding "
        f"Earth metadata header: {detail}){hint}"
    )


def _open_checked(path: str | os.PathLike, device: str):
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: model file not found")
    with open(path, "rb") as handle:
        start = handle.read(9)
    # torch.save writes a zip archive of pickles (older versions a bare pickle: PROTO
    # opcode 0x80 and a protocol number). A safetensors file starts with its header's
    # length (8 bytes, little-endian, whose first byte may be 0x80 too) and then "{".
    safetensors_like = start[8:9] == b"{"
    bare_pickle = start[:1] == b"\x80" and start[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")
    if start.startswith(b"PK\x03\x04") or (bare_pickle and not safetensors_like):
        raise ModelFileError(
            f"{path}: a PyTorch pickle checkpoint, not a Sounding Earth model file (model files "
            "are .safetensors and are never unpickled); import a checkpoint of the paper's code "
            "with python -m backend import-reference"
        )
    try:
        return safe_open(str(path), framework="pt", device=device)
    except Exception as exc:  # safetensors' own error type for a bad header
        raise _not_a_model_file(path, str(exc)) from exc


def load_model_metadata(path: str | os.PathLike) -> ModelMetadata:
    """Read only the metadata of a model file (no tensors are loaded).

    Raises:
        FileNotFoundError: The file does not exist.
        ModelFileError: It is not a Sounding Earth model file.
    """
    with _open_checked(path, "cpu") as f:
        header = f.metadata()
    if not header:
        raise _not_a_model_file(Path(path), "the file has no metadata header")
    return ModelMetadata.from_header(header, source=str(path))


def load_model_file(
    path: str | os.PathLike, device: str | torch.device = "cpu"
) -> tuple[dict[str, torch.Tensor], ModelMetadata]:
    """Read weights and metadata from a model file; never unpickles.

    Args:
        path: The ``.safetensors`` model file.
        device: Where to put the tensors.

    Returns:
        ``(state_dict, metadata)``.

    Raises:
        FileNotFoundError: The file does not exist.
        ModelFileError: It is not a Sounding Earth model file.
    """
    with _open_checked(path, str(device)) as f:
        header = f.metadata()
        if not header:
            raise _not_a_model_file(Path(path), "the file has no metadata header")
        metadata = ModelMetadata.from_header(header, source=str(path))
        state_dict = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118
    return state_dict, metadata


def unwrap_model(model: nn.Module) -> nn.Module:
    """The model inside DistributedDataParallel (``.module``) or torch.compile (``._orig_mod``)."""
    # DistributedDataParallel keeps the model in .module, torch.compile in ._orig_mod.
    while True:
        inner = getattr(model, "module", None) or getattr(model, "_orig_mod", None)
        if not isinstance(inner, nn.Module):
            return model
        model = inner


def save_audiovisual_model(
    path: str | os.PathLike, model: AudiovisualModel, metadata: ModelMetadata
) -> None:
    """Save an ``AudiovisualModel`` or, with ``family="reference"`` metadata, a
    ``ReferenceAudiovisualModel`` (either possibly wrapped by DDP or torch.compile).

    Raises:
        ValueError: ``metadata`` does not describe this model.
    """
    from backend.models.reference import ReferenceAudiovisualModel

    model = unwrap_model(model)
    expected = ReferenceAudiovisualModel if metadata.family == "reference" else AudiovisualModel
    if not isinstance(model, expected):
        raise TypeError(
            f"expected a {expected.__name__} for a {metadata.family}-family model file, "
            f"got {type(model).__name__}"
        )
    wanted = {
        "kind": "audiovisual",
        "image_arch": model.image_arch,
        "audio_arch": model.audio_arch,
        "embed_dim": model.embed_dim,
    }
    if isinstance(model, ReferenceAudiovisualModel):
        wanted["widths"] = model.widths_metadata()
    wrong = {k: getattr(metadata, k) for k, v in wanted.items() if getattr(metadata, k) != v}
    if wrong:
        raise ValueError(f"metadata {wrong} does not match the model {wanted}")
    save_model_file(path, model.state_dict(), metadata)


#: the random initialisers a model's constructor calls (torch.nn.init's and the Tensor
#: methods they end in); skipped while building a model that a model file's weights fill
_RANDOM_INITIALISERS = frozenset(
    {
        torch.Tensor.uniform_,
        torch.Tensor.normal_,
        nn.init.uniform_,
        nn.init.normal_,
        nn.init.trunc_normal_,
        nn.init.kaiming_uniform_,
        nn.init.kaiming_normal_,
        nn.init.xavier_uniform_,
        nn.init.xavier_normal_,
        nn.init.orthogonal_,
    }
)

_Model = TypeVar("_Model", bound=nn.Module)


class _NoRandomInitialisation(TorchFunctionMode):
    """Inside (this thread only): the random initialisers leave their tensor as it is."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _RANDOM_INITIALISERS:
            return args[0] if args else kwargs["tensor"]
        return func(*args, **kwargs)


def build_to_load(build: Callable[[], _Model]) -> _Model:
    """``build()`` without drawing random initial weights, for a model whose every
    parameter and persistent buffer a strict ``load_state_dict`` then overwrites.

    Drawing a ResNet-18's initial weights takes about as long as the rest of reading
    its model file (0.06 of 0.12 s on one core), and it advanced torch's global random
    generator, so loading a model changed what a seeded run drew next. Parameters are
    left as allocated (arbitrary values): call this only where a strict load follows.
    Constant initialisers (zeros, ones: batch norm) and non-persistent buffers (the
    band statistics) are built as usual.
    """
    with _NoRandomInitialisation():
        return build()


def _build_audiovisual(
    state_dict: Mapping[str, torch.Tensor], metadata: ModelMetadata, source: str
) -> nn.Module:
    if metadata.kind != "audiovisual":
        raise ModelFileError(f"{source}: a {metadata.kind} model, not an audiovisual one")

    def build() -> nn.Module:
        if metadata.family == "reference":
            from backend.models.reference import ReferenceAudiovisualModel, recorded_widths

            return ReferenceAudiovisualModel(
                metadata.image_arch,
                metadata.audio_arch,
                metadata.embed_dim,
                metadata.normalization["mean"],
                metadata.normalization["std"],
                image_widths=recorded_widths(metadata.widths, "image"),
                audio_widths=recorded_widths(metadata.widths, "audio"),
            )
        return AudiovisualModel(metadata.image_arch, metadata.audio_arch, metadata.embed_dim)

    try:
        model = build_to_load(build)
    except ValueError as exc:
        raise ModelFileError(f"{source}: {exc}") from exc
    mismatch = state_dict_mismatch(model.state_dict(), state_dict)
    if mismatch:
        raise ModelFileError(
            f"{source}: weights do not fit a {metadata.family} {metadata.image_arch}/"
            f"{metadata.audio_arch} audiovisual model ({mismatch})"
        )
    model.load_state_dict(state_dict, strict=True)
    return model


def load_audiovisual_model(
    path: str | os.PathLike, device: str | torch.device = "cpu"
) -> tuple[nn.Module, ModelMetadata]:
    """Load an audiovisual model file into a ready-to-use model in eval mode.

    The model is an ``AudiovisualModel`` or, for the ``reference`` family, a
    ``ReferenceAudiovisualModel``; both offer ``encode_image``, ``encode_audio``
    and ``image_encoder``.

    Raises:
        FileNotFoundError: The file does not exist.
        ModelFileError: Not a model file, not audiovisual, or the weights do not fit.
    """
    state_dict, metadata = load_model_file(path, device="cpu")
    model = _build_audiovisual(state_dict, metadata, str(path))
    return model.to(device).eval(), metadata


def import_legacy_checkpoint(
    pt_path: str | os.PathLike,
    out_path: str | os.PathLike,
    metadata: ModelMetadata,
    rename_prefixes: Mapping[str, str] | None = None,
) -> ModelMetadata:
    """Convert a PyTorch ``.pt`` checkpoint into a model file, loading tensors only.

    The checkpoint is read with ``torch.load(weights_only=True)``: a file that would run
    code or rebuild Python objects is refused.

    Args:
        pt_path: The checkpoint: a state dict, or a dict holding one under ``"state_dict"``
            or ``"model"`` (nested any number of times).
        out_path: The ``.safetensors`` model file to write.
        metadata: Metadata describing the weights.
        rename_prefixes: Optional key prefix replacements (old -> new), applied after
            ``"module."`` prefixes are stripped, for checkpoints with other layer names.

    Returns:
        The metadata written, with the source file name and SHA-256 added to provenance.

    Raises:
        FileNotFoundError: ``pt_path`` does not exist.
        ModelFileError: The file is refused, holds no state dict, or (for an audiovisual
            model) its weights do not fit the architecture.
    """
    pt_path = Path(pt_path)
    if not pt_path.is_file():
        raise FileNotFoundError(f"{pt_path}: checkpoint not found")
    loaded = torch_load_tensors(pt_path, ModelFileError, "PyTorch checkpoint")
    while isinstance(loaded, Mapping):
        nested = next(
            (loaded[k] for k in ("state_dict", "model") if isinstance(loaded.get(k), Mapping)),
            None,
        )
        if nested is None:
            break
        loaded = nested
    if not isinstance(loaded, Mapping) or not loaded:
        raise ModelFileError(
            f"{pt_path}: expected a state dict (name -> tensor), got {type(loaded).__name__}"
        )
    not_tensors = sorted(str(k) for k, v in loaded.items() if not isinstance(v, torch.Tensor))
    if not_tensors:
        raise ModelFileError(
            f"{pt_path}: expected only tensors in the state dict, not: {', '.join(not_tensors[:8])}"
        )
    state_dict: dict[str, torch.Tensor] = {}
    for key, tensor in loaded.items():
        name = str(key)
        while name.startswith("module."):
            name = name.removeprefix("module.")
        for old, new in (rename_prefixes or {}).items():
            if name.startswith(old):
                name = new + name[len(old) :]
                break
        state_dict[name] = tensor
    metadata = dataclasses.replace(
        metadata,
        provenance={
            **metadata.provenance,
            "imported_from": pt_path.name,
            "imported_sha256": sha256_file(pt_path),
        },
    )
    if metadata.kind == "audiovisual":
        _build_audiovisual(state_dict, metadata, str(pt_path))
    save_model_file(out_path, state_dict, metadata)
    return metadata

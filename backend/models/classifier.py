"""Scene classifiers: a ResNet trunk plus a linear head, their model files and weight transfer."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import torch
from torch import nn

from backend.models.encoders import (
    IMAGE_MEAN,
    IMAGE_STD,
    _adapt_first_conv,
    build_resnet_trunk,
)
from backend.models.modelfile import (
    ModelFileError,
    ModelMetadata,
    build_to_load,
    load_model_file,
    save_model_file,
    state_dict_mismatch,
    unwrap_model,
)
from backend.radiometry import check_normalization

if TYPE_CHECKING:
    from backend.models.reference import Widths

#: where the image trunk's weights sit inside each model-file kind
TRUNK_PREFIXES: dict[str, str] = {
    "audiovisual": "image_encoder.trunk.",
    "classifier": "trunk.",
    "segmentation": "trunk.",
}
#: a classifier-type model (:func:`load_classifier_type`)
M = TypeVar("M", bound=nn.Module)
#: the same for audiovisual files of the reference family (backend.models.reference)
REFERENCE_AUDIOVISUAL_TRUNK = "image_encoder.net."


def _build_trunk(
    family: str,
    arch: str,
    in_channels: int,
    weights_path: str | os.PathLike | None,
    widths: Widths | None = None,
) -> tuple[nn.Module, int]:
    if family == "reference":
        from backend.models.reference import FINAL_WIDTHS, ReferenceResNet

        if weights_path is not None:
            raise ValueError(
                "a reference-family trunk starts from a model file, not torchvision weights"
            )
        trunk = ReferenceResNet(arch, in_channels, None, widths or FINAL_WIDTHS)
        return trunk, trunk.feature_dim
    return build_resnet_trunk(arch, in_channels, weights_path)


def default_statistics(in_channels: int) -> tuple[list[float], list[float]]:
    """Per-band mean and std for inputs in [0, 1]: ImageNet's for RGB, their average otherwise."""
    if in_channels == 3:
        return list(IMAGE_MEAN), list(IMAGE_STD)
    mean = sum(IMAGE_MEAN) / 3
    std = sum(IMAGE_STD) / 3
    return [mean] * in_channels, [std] * in_channels


def _per_band(values: Sequence[float] | float, in_channels: int, name: str) -> list[float]:
    flat = torch.as_tensor(values, dtype=torch.float64).flatten().tolist()
    if len(flat) == 1:
        flat = flat * in_channels
    if len(flat) != in_channels:
        raise ValueError(f"{name} needs 1 or {in_channels} values, got {len(flat)}")
    if not all(math.isfinite(v) for v in flat):
        raise ValueError(f"{name} must be finite, got {flat}")
    return [float(v) for v in flat]


def centre_values(x: torch.Tensor, size: int) -> torch.Tensor:
    """Band values ``[B, C]`` of ``x`` ``[B, C, H, W]`` averaged over its centre ``size`` x ``size`` pixels."""
    h, w = x.shape[-2:]
    size_y, size_x = min(size, h), min(size, w)
    top, left = (h - size_y) // 2, (w - size_x) // 2
    return x[:, :, top : top + size_y, left : left + size_x].mean((2, 3))


class BandStatistics:
    """The per-band input statistics of a classifier-type model, exact (its buffers are float32).

    The model sets ``_mean_list`` and ``_std_list``; its metadata takes them from here.
    """

    _mean_list: list[float]
    _std_list: list[float]

    @property
    def mean_values(self) -> list[float]:
        """The per-band means as a list."""
        return list(self._mean_list)

    @property
    def std_values(self) -> list[float]:
        """The per-band standard deviations as a list."""
        return list(self._std_list)


class SceneClassifier(BandStatistics, nn.Module):
    """A ResNet trunk with the input normalisation built in, and a linear head.

    Inputs are float ``[B, C, H, W]`` already divided by the model file's
    ``normalization["scale"]`` (so 8-bit RGB is in [0, 1]); the per-band
    mean/std normalisation happens inside. ``forward`` returns logits.
    """

    def __init__(
        self,
        arch: str = "resnet18",
        num_classes: int = 2,
        in_channels: int = 3,
        mean: Sequence[float] | float | None = None,
        std: Sequence[float] | float | None = None,
        weights_path: str | os.PathLike | None = None,
        family: str = "native",
        centre_px: int = 0,
        widths: Widths | None = None,
    ) -> None:
        """Build the classifier.

        Args:
            arch: Trunk architecture (``"resnet18"`` or ``"resnet50"``).
            num_classes: Number of output classes.
            in_channels: Input bands.
            mean: Per-band (or single) mean of the scaled inputs (default: see
                :func:`default_statistics`).
            std: Per-band (or single) standard deviation of the scaled inputs.
            weights_path: Optional torchvision ResNet state dict for the trunk (e.g.
                ImageNet weights saved beforehand; never downloaded).
            family: Trunk family: ``native`` (torchvision ResNet) or ``reference``
                (the paper's own ResNet, for trunks from imported checkpoints).
            centre_px: ``0``: the head sees the pooled trunk features. ``n > 0``: a
                hybrid head, which also sees the normalised band values averaged over
                the tile's centre ``n`` x ``n`` pixels (the pixel under the sample), so
                a classifier can use the spectrum of the pixel it labels as well as
                the trunk's view of its surroundings.
            widths: For the ``reference`` family: the trunk's stem and stage widths
                (default: the final layout); ignored for ``native``.
        """
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be at least 1, got {num_classes}")
        default_mean, default_std = default_statistics(in_channels)
        self.arch = arch
        self.family = family
        self.num_classes = num_classes
        self.in_channels = in_channels
        if centre_px < 0:
            raise ValueError(f"centre_px must be 0 or positive, got {centre_px}")
        self.centre_px = int(centre_px)
        self.trunk, self.trunk_dim = _build_trunk(family, arch, in_channels, weights_path, widths)
        self.widths = getattr(self.trunk, "widths", None)
        self.feature_dim = self.trunk_dim + (in_channels if self.centre_px else 0)
        self.head = nn.Linear(self.feature_dim, num_classes)
        mean_list = _per_band(default_mean if mean is None else mean, in_channels, "mean")
        std_list = _per_band(default_std if std is None else std, in_channels, "std")
        if any(s <= 0 for s in std_list):
            raise ValueError(f"std must be positive, got {std_list}")
        # exact values for the metadata (the buffers are float32)
        self._mean_list, self._std_list = mean_list, std_list
        # Not persistent: the statistics are described in the model file's metadata.
        self.register_buffer(
            "mean", torch.tensor(mean_list, dtype=torch.float32).view(1, -1, 1, 1), False
        )
        self.register_buffer(
            "std", torch.tensor(std_list, dtype=torch.float32).view(1, -1, 1, 1), False
        )

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the per-band mean/std normalisation to scaled inputs."""
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected input [B, {self.in_channels}, H, W], got {list(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(
                f"expected float input divided by the normalisation scale, got {x.dtype}"
            )
        return (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled trunk features ``[B, F]`` (then the centre pixels' bands for a hybrid head)."""
        x = self.normalize(x)
        pooled = self.trunk(x)
        if not self.centre_px:
            return pooled
        return torch.cat([pooled, centre_values(x, self.centre_px).to(pooled.dtype)], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits ``[B, num_classes]``."""
        return self.head(self.features(x))

    def load_trunk_state(self, state: Mapping[str, torch.Tensor], source: str = "") -> None:
        """Load trunk weights (torchvision names, no prefix), adapting the first convolution.

        Weights for another number of input bands are averaged into this one's first
        convolution (see ``build_resnet_trunk``); ``fc.*`` entries are ignored.

        Raises:
            ValueError: The weights do not fit this trunk.
        """
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
        conv1 = state.get("conv1.weight")
        if conv1 is not None and conv1.ndim == 4 and conv1.shape[1] != self.in_channels:
            state["conv1.weight"] = _adapt_first_conv(conv1, self.in_channels)
        mismatch = state_dict_mismatch(self.trunk.state_dict(), state, limit=6)
        if mismatch:
            where = f"{source}: " if source else ""
            raise ValueError(f"{where}weights do not fit a {self.arch} trunk ({mismatch})")
        self.trunk.load_state_dict(state, strict=True)


def trunk_state_from_model_file(
    path: str | os.PathLike,
) -> tuple[dict[str, torch.Tensor], ModelMetadata]:
    """The image trunk's weights (torchvision names) of an audiovisual or classifier model file.

    Raises:
        FileNotFoundError: The file does not exist.
        ModelFileError: Not a model file, or it holds no image trunk.
    """
    state, metadata = load_model_file(path)
    prefix = TRUNK_PREFIXES[metadata.kind]
    if metadata.kind == "audiovisual" and metadata.family == "reference":
        prefix = REFERENCE_AUDIOVISUAL_TRUNK
    trunk = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    if not trunk:
        raise ModelFileError(f"{path}: no image trunk weights ({prefix}*) in this model file")
    return trunk, metadata


def recorded_trunk_widths(metadata: ModelMetadata) -> Widths | None:
    """The image trunk's widths a reference-family file records (None for native files)."""
    if metadata.family != "reference":
        return None
    from backend.models.reference import recorded_widths

    return recorded_widths(metadata.widths, "image")


def trunk_widths_metadata(model: nn.Module) -> dict[str, list[int]] | None:
    """``ModelMetadata.widths`` of a classifier-type model's trunk (None for native trunks)."""
    widths = getattr(model, "widths", None)
    return None if widths is None else {"image": widths.to_list()}


def classifier_from_model_file(
    path: str | os.PathLike,
    num_classes: int,
    in_channels: int = 3,
    mean: Sequence[float] | float | None = None,
    std: Sequence[float] | float | None = None,
    centre_px: int = 0,
) -> SceneClassifier:
    """A new classifier whose trunk starts from a pretrained model file's image trunk.

    The head is freshly initialised (a hybrid head with ``centre_px > 0``); the
    architecture is the file's.

    Raises:
        FileNotFoundError: The file does not exist.
        ModelFileError: Not a model file, or its trunk does not fit.
    """
    trunk, metadata = trunk_state_from_model_file(path)
    model = SceneClassifier(
        metadata.image_arch,
        num_classes,
        in_channels,
        mean,
        std,
        family=metadata.family,
        centre_px=centre_px,
        widths=recorded_trunk_widths(metadata),
    )
    try:
        model.load_trunk_state(trunk, str(path))
    except ValueError as exc:
        raise ModelFileError(str(exc)) from exc
    return model


def classifier_metadata(
    model: SceneClassifier,
    class_names: Sequence[str],
    class_colors: Sequence[str],
    bands: Sequence[int],
    tile_px: int,
    scale: float = 255.0,
    resolution_m: float | None = None,
    provenance: Mapping[str, Any] | None = None,
    normalization: Mapping[str, Any] | None = None,
) -> ModelMetadata:
    """The model-file metadata describing ``model`` (mean/std taken from the model).

    Also the fields of other classifier-type models (a segmentation model's, which
    change only the kind).

    ``normalization``: a ``robust`` normalisation (``backend.radiometry``) whose
    low/high/dtype/bands are kept; otherwise pixels are divided by ``scale``.
    """
    if normalization is not None:
        normalization = {**dict(normalization), "mean": model.mean_values, "std": model.std_values}
    else:
        normalization = {
            "mean": model.mean_values,
            "std": model.std_values,
            "scale": float(scale),
        }
    return ModelMetadata(
        kind="classifier",
        image_arch=model.arch,
        audio_arch=None,
        embed_dim=model.feature_dim,
        bands=[int(b) for b in bands],
        normalization=normalization,
        tile_px=int(tile_px),
        resolution_m=None if resolution_m is None else float(resolution_m),
        class_names=list(class_names),
        class_colors=list(class_colors),
        provenance=dict(provenance or {}),
        extra={"centre_px": model.centre_px} if getattr(model, "centre_px", 0) else {},
        family=getattr(model, "family", "native"),
        widths=trunk_widths_metadata(model),
    )


def save_classifier(
    path: str | os.PathLike, model: SceneClassifier, metadata: ModelMetadata
) -> None:
    """Write a classifier model file (weights + metadata), atomically.

    Raises:
        ValueError: ``metadata`` does not describe ``model`` (kind, architecture,
            class count, band count or normalisation).
    """
    model = unwrap_model(model)
    if not isinstance(model, SceneClassifier):
        raise TypeError(f"expected a SceneClassifier, got {type(model).__name__}")
    trunk = None
    if metadata.image_arch != model.arch:
        trunk = f"image_arch {metadata.image_arch!r} (model: {model.arch!r})"
    problems = classifier_type_problems(metadata, model, "classifier", trunk)
    for key, values in (("mean", model.mean_values), ("std", model.std_values)):
        given = metadata.normalization.get(key)
        if not isinstance(given, list) or len(given) != len(values):
            problems.append(f"normalization {key} {given!r} (model: {values})")
        elif any(
            abs(float(a) - b) > 1e-6 * max(1.0, abs(b)) for a, b in zip(given, values, strict=True)
        ):
            problems.append(f"normalization {key} {given} (model: {values})")
    problem = check_normalization(metadata.normalization, len(metadata.bands))
    if problem:
        problems.append(problem)
    if problems:
        raise ValueError(f"metadata does not match the classifier: {'; '.join(problems)}")
    save_model_file(path, model.state_dict(), metadata)


def classifier_type_problems(
    metadata: ModelMetadata, model: nn.Module, kind: str, trunk: str | None
) -> list[str]:
    """What in ``metadata`` does not describe the classifier-type ``model`` of ``kind``:
    its kind, its trunk (``trunk``: the caller's finding, or None), its classes and bands."""
    problems = []
    if metadata.kind != kind:
        problems.append(f"kind {metadata.kind!r} (expected {kind!r})")
    if trunk:
        problems.append(trunk)
    if len(metadata.class_names) != model.num_classes:
        problems.append(f"{len(metadata.class_names)} class names for {model.num_classes} outputs")
    if len(metadata.bands) != model.in_channels:
        problems.append(f"{len(metadata.bands)} bands for {model.in_channels} input channels")
    return problems


def classifier_type_from_metadata(
    model_class: type[M], metadata: ModelMetadata, **options: Any
) -> M:
    """An untrained ``model_class`` (a classifier-type model) with the trunk, classes, bands
    and normalisation of ``metadata``; ``options`` go to its constructor."""
    norm = metadata.normalization
    return model_class(
        metadata.image_arch,
        len(metadata.class_names),
        len(metadata.bands),
        norm["mean"],
        norm["std"],
        family=metadata.family,
        widths=recorded_trunk_widths(metadata),
        **options,
    )


def load_classifier(
    path: str | os.PathLike, device: str | torch.device = "cpu"
) -> tuple[SceneClassifier, ModelMetadata]:
    """Load a classifier model file into a ready-to-use model in eval mode.

    Use: ``probabilities = softmax(model(x), 1)`` with
    ``x = backend.radiometry.prescale(pixels, metadata.normalization)`` of the
    raster pixels of ``metadata.bands`` (float ``[B, len(bands), tile_px, tile_px]``).

    Raises:
        FileNotFoundError: The file does not exist.
        ModelFileError: Not a model file, not a classifier, or the weights do not fit.
    """

    def build(metadata: ModelMetadata) -> SceneClassifier:
        centre_px = int(metadata.extra.get("centre_px", 0) or 0)
        return classifier_type_from_metadata(SceneClassifier, metadata, centre_px=centre_px)

    wrong_kind = {
        "segmentation": (
            "a segmentation model, not a scene classifier (classify runs it per pixel; load "
            "it with backend.models.deeplab.load_segmentation_model)"
        ),
    }
    return load_classifier_type(
        path,
        device,
        "classifier",
        build,
        wrong_kind,
        default_wrong_kind=(
            "an {kind} model, not a classifier; fine-tune it first (python -m backend finetune)"
        ),
        min_classes=1,
        description="classifier",
    )


def load_classifier_type(
    path: str | os.PathLike,
    device: str | torch.device,
    kind: str,
    build: Callable[[ModelMetadata], M],
    wrong_kind: Mapping[str, str],
    default_wrong_kind: str,
    min_classes: int,
    description: str,
) -> tuple[M, ModelMetadata]:
    """The one loader of classifier-type model files (scene classifiers, segmentation models).

    Reads the file (never unpickling), checks its kind, class names and
    normalisation, builds the model from the metadata with ``build`` and loads
    the weights strictly; the model comes back in eval mode on ``device``.

    Args:
        path: The model file.
        device: Where the model goes.
        kind: The ``ModelMetadata.kind`` expected.
        build: Metadata -> the untrained model.
        wrong_kind: For another kind: what to tell the user (after the path).
        default_wrong_kind: The same for kinds not in ``wrong_kind`` (``{kind}`` is filled).
        min_classes: Fewest class names a file of this kind must have.
        description: The model, as errors name it (``classifier``, ``DeepLabv3+``).

    Raises:
        FileNotFoundError: The file does not exist.
        ModelFileError: Not a model file, another kind, or the weights do not fit.
    """
    state, metadata = load_model_file(path, device="cpu")
    if metadata.kind != kind:
        message = wrong_kind.get(metadata.kind, default_wrong_kind)
        raise ModelFileError(f"{path}: {message.format(kind=metadata.kind)}")
    if len(metadata.class_names) < min_classes:
        raise ModelFileError(
            f"{path}: a {kind} model file needs at least {min_classes} class "
            f"name{'s' if min_classes > 1 else ''}"
        )
    norm = metadata.normalization
    problem = check_normalization(norm, len(metadata.bands))
    if problem:
        raise ModelFileError(f"{path}: {problem}")
    try:
        model = build_to_load(lambda: build(metadata))
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(f"{path}: {exc}") from exc
    mismatch = state_dict_mismatch(model.state_dict(), state, limit=6)
    if mismatch:
        raise ModelFileError(
            f"{path}: weights do not fit a {metadata.family} {metadata.image_arch} "
            f"{description} with {len(metadata.class_names)} classes and "
            f"{len(metadata.bands)} bands ({mismatch})"
        )
    model.load_state_dict(state, strict=True)
    return model.to(device).eval(), metadata

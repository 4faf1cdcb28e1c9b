"""Where an image trunk's starting weights come from: random, ImageNet (a local file) or a model file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from backend.models.classifier import SceneClassifier, classifier_from_model_file
from backend.models.modelfile import ModelMetadata, load_model_metadata


@dataclass(frozen=True)
class InitSpec:
    """Where the image trunk's starting weights come from."""

    #: ``"random"``, ``"imagenet"`` or ``"model"`` (a Sounding Earth model file)
    kind: str
    #: the weights file (``None`` for random)
    path: Path | None
    #: row title in tables
    label: str
    #: the text it was parsed from
    text: str

    @property
    def seed_dependent(self) -> bool:
        """Whether the trunk's weights change with the seed (only random ones do)."""
        return self.kind == "random"


def parse_init(text: str) -> InitSpec:
    """Parse ``random``, ``imagenet:PATH`` or a model file path, optionally ``LABEL=...``.

    Raises:
        ValueError: ``imagenet`` without a path, or an empty value.
    """
    raw = text.strip()
    label = ""
    if "=" in raw and not Path(raw).expanduser().exists():
        label, _, raw = (part.strip() for part in raw.partition("="))
    if not raw:
        raise ValueError(f"--init {text!r}: empty initialisation")
    if raw.lower() == "random":
        return InitSpec("random", None, label or "random", text)
    if raw.lower() == "imagenet":
        raise ValueError(
            "--init imagenet needs a local weights file: imagenet:PATH, a torchvision ResNet "
            "state dict saved beforehand (nothing is ever downloaded; see docs/transfer.md)"
        )
    if raw.lower().startswith("imagenet:"):
        path = Path(raw[len("imagenet:") :]).expanduser()
        if not str(path):
            raise ValueError(f"--init {text!r}: imagenet: needs a file path")
        return InitSpec("imagenet", path, label or "ImageNet", text)
    path = Path(raw).expanduser()
    default_label = path.parent.name if path.stem == "model" and path.parent.name else path.stem
    return InitSpec("model", path, label or default_label, text)


def check_init(spec: InitSpec) -> ModelMetadata | None:
    """Fail early and clearly if the initialisation's file is missing or not usable.

    Returns:
        The model file's metadata for ``model`` initialisations, else ``None``.

    Raises:
        FileNotFoundError: The weights file does not exist.
        ModelFileError: A model file that is not a Sounding Earth model file.
    """
    if spec.kind == "random":
        return None
    assert spec.path is not None
    if not spec.path.is_file():
        if spec.kind == "imagenet":
            raise FileNotFoundError(
                f"imagenet:{spec.path}: weights file not found. This program never downloads "
                "weights: save torchvision's ImageNet ResNet state dict to that file first "
                "(see docs/transfer.md)"
            )
        raise FileNotFoundError(
            f"--init {spec.path}: file not found (expected random, imagenet:PATH or a "
            "Sounding Earth model file)"
        )
    if spec.kind == "model":
        return load_model_metadata(spec.path)
    return None


def build_classifier(
    spec: InitSpec,
    num_classes: int,
    in_channels: int,
    mean: Sequence[float],
    std: Sequence[float],
    arch: str = "resnet18",
    seed: int = 0,
    centre_px: int = 0,
) -> SceneClassifier:
    """A classifier whose trunk starts from ``spec`` and whose head is new (seeded).

    For model files the architecture is the file's and ``arch`` is ignored.
    ``centre_px > 0`` gives a hybrid head (see :class:`SceneClassifier`).
    """
    torch.manual_seed(seed)
    if spec.kind == "random":
        return SceneClassifier(arch, num_classes, in_channels, mean, std, centre_px=centre_px)
    check_init(spec)
    if spec.kind == "imagenet":
        return SceneClassifier(
            arch, num_classes, in_channels, mean, std, weights_path=spec.path, centre_px=centre_px
        )
    return classifier_from_model_file(
        spec.path, num_classes, in_channels, mean, std, centre_px=centre_px
    )


# build_classifier's parameters and protocol: the paper protocol may build an
# EmbeddingClassifier, which is not the SceneClassifier that build_classifier returns
def build_transfer_model(
    spec: InitSpec,
    num_classes: int,
    in_channels: int,
    mean: Sequence[float],
    std: Sequence[float],
    arch: str = "resnet18",
    seed: int = 0,
    protocol: str = "product",
) -> torch.nn.Module:
    """The classifier a transfer protocol judges an initialisation by.

    ``product``: the image trunk's pooled features and a linear head
    (:func:`build_classifier`). ``paper``: for an audiovisual model file, a linear
    head on its image embedding (:class:`~backend.transfer.embedding.EmbeddingClassifier`),
    as the reference's downstream code; other initialisations as ``product`` (the
    reference's torchvision ResNets end in their pooled features too).
    """
    if protocol == "paper" and spec.kind == "model":
        metadata = check_init(spec)
        if metadata is not None and metadata.kind == "audiovisual":
            from backend.transfer.embedding import embedding_classifier

            torch.manual_seed(seed)
            return embedding_classifier(spec.path, num_classes, in_channels)
    return build_classifier(spec, num_classes, in_channels, mean, std, arch, seed)

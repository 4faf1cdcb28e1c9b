"""Import checkpoints saved by the paper's training code (khdlr/SoundingEarth) as model files.

The reference saves ``torch.save(model.state_dict())`` of its ``FullModelWrapper``:
keys ``img_encoder.module_list.0.*`` (image ResNet), ``snd_encoder.module_list.0.*``
(spectrogram ResNet) and, for some losses, ``loss_function.*`` (a projection head
used only in training). The file is read with ``torch.load(weights_only=True)``,
every encoder tensor is mapped onto :mod:`backend.models.reference`, and a normal
``.safetensors`` model file of the ``reference`` family is written, so every
command and the plugin run it unchanged.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch

from backend.models.encoders import read_state_dict_file
from backend.models.modelfile import (
    ModelFileError,
    ModelMetadata,
    load_model_file,
    save_model_file,
    state_dict_mismatch,
)
from backend.models.reference import (
    ARCHITECTURES,
    FAMILY,
    IMAGE_MEAN,
    IMAGE_STD,
    REFERENCE_COMMIT,
    REFERENCE_REPOSITORY,
    SPECTROGRAM_HIGH,
    SPECTROGRAM_LOW,
    ReferenceAudiovisualModel,
    from_reference_keys,
    to_reference_keys,
)

#: the reference's evaluation image size (centre 384 of the 512 px tile, resized to 192)
REFERENCE_TILE_PX = 192


#: the reference's loss functions (``LossFunction`` of a run's config.yml) -> the distance its
#: evaluation ranks by: ``lib/evaluation.py`` applies the loss's ``distance_transform`` (the
#: identity, or an L2 normalisation) and then the Euclidean distance
LOSS_DISTANCES = {
    "TripletLoss": "euclidean",
    "BarlowTwins": "euclidean",
    "EuclideanContrastiveLoss": "euclidean",
    "SigmoidLoss": "euclidean",
    "ContrastiveLoss": "cosine",
    "ContrastiveLoss02": "cosine",
    "LearnedContrastiveLoss": "cosine",
    "SymmetricCL": "cosine",
    "SymmetricCL02": "cosine",
    "SymmetricCLWithDistillation": "cosine",
    "SymmetricCLWithMemory": "cosine",
    "SymmetricCLWithMemoryAndDistillation": "cosine",
}
#: the paper's loss (batch triplet loss)
DEFAULT_LOSS = "TripletLoss"


def loss_distance(loss: str) -> str:
    """The distance the reference ranks by after training with ``loss``.

    Raises:
        ModelFileError: A loss the importer does not know (e.g. ``DeepHashingLoss``,
            whose sign codes this project does not rank by).
    """
    try:
        return LOSS_DISTANCES[loss]
    except KeyError:
        raise ModelFileError(
            f"--loss {loss!r}: expected the LossFunction of the run's config.yml, one of "
            f"{sorted(LOSS_DISTANCES)}"
        ) from None


def reference_conventions(loss: str = DEFAULT_LOSS) -> dict:
    """The reference's input conventions and ranking distance, as recorded in the metadata."""
    return {
        "repository": REFERENCE_REPOSITORY,
        "commit": REFERENCE_COMMIT,
        "image_input": (
            "RGB pixels / 255, minus the ImageNet mean, divided by the ImageNet std "
            "(albumentations Normalize); evaluation view: centre 384 px of the 512 px "
            "tile, resized to 192 px"
        ),
        "spectrogram_mapping": "8-bit pixel p -> LOW + p / 255 * (HIGH - LOW)",
        "spectrogram_range": [SPECTROGRAM_LOW, SPECTROGRAM_HIGH],
        "spectrogram_rows": "as stored in spectrograms/{key}.jpg",
        "window_frames": 128,
        "sound_reducer": "mean of the windows' embeddings (SoundMeanPool)",
        "loss_function": loss,
        "distance": loss_distance(loss),
        "distance_note": (
            "the reference's evaluation (lib/evaluation.py) applies the loss's "
            "distance_transform and ranks by Euclidean distance: the identity for "
            f"{', '.join(k for k, v in LOSS_DISTANCES.items() if v == 'euclidean')}; "
            "an L2 normalisation (cosine ranking) for the contrastive losses"
        ),
        "embedding_l2_normalised": False,
    }


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _guess_arch(state: dict[str, torch.Tensor], prefix: str) -> str | None:
    """Which architecture a reference encoder's keys look like (bottleneck blocks have conv3)."""
    if not any(k.startswith(prefix) for k in state):
        return None
    return "resnet50" if f"{prefix}layer1.0.conv3.weight" in state else "resnet18"


def import_reference_checkpoint(
    checkpoint: str | os.PathLike,
    out: str | os.PathLike,
    image_arch: str = "resnet18",
    audio_arch: str = "auto",
    loss: str = DEFAULT_LOSS,
) -> ModelMetadata:
    """Convert a khdlr/SoundingEarth checkpoint into a ``reference``-family model file.

    Args:
        checkpoint: The ``.pt`` state dict saved by the reference's ``train.py``
            (e.g. ``latest.pt``); a dict holding it under ``state_dict`` or ``model``
            and ``module.`` prefixes (DataParallel) are accepted.
        out: The ``.safetensors`` model file to write (atomically).
        image_arch: The image encoder's architecture (``resnet18`` or ``resnet50``).
        audio_arch: The spectrogram encoder's architecture (the reference default is
            ``resnet18``), or ``auto`` to read it from the checkpoint's keys.
        loss: The ``LossFunction`` the checkpoint was trained with (its run's
            config.yml; the paper's is ``TripletLoss``): it decides the ranking
            distance recorded (:data:`LOSS_DISTANCES`).

    Returns:
        The metadata written.

    Raises:
        FileNotFoundError: ``checkpoint`` does not exist.
        ModelFileError: The file holds Python objects (refused), is not a state dict,
            or its keys or shapes do not fit the reference architecture (one message
            naming the unknown, missing and wrong-shape keys).
    """
    checkpoint = Path(checkpoint)
    loss_distance(loss)
    if not checkpoint.is_file():
        raise FileNotFoundError(f"{checkpoint}: checkpoint not found")
    for name, arch in (("--image-arch", image_arch), ("--audio-arch", audio_arch)):
        if arch not in ARCHITECTURES and not (name == "--audio-arch" and arch == "auto"):
            raise ModelFileError(f"{name} must be one of {sorted(ARCHITECTURES)}, got {arch!r}")
    try:
        state = read_state_dict_file(checkpoint)
    except ValueError as exc:
        raise ModelFileError(str(exc)) from exc
    renamed, ignored, unknown = from_reference_keys(state)
    if audio_arch == "auto":
        audio_arch = _guess_arch(renamed, "audio_encoder.net.") or "resnet18"
    fc = renamed.get("image_encoder.net.fc.weight")
    embed_dim = int(fc.shape[0]) if fc is not None and fc.ndim == 4 else 128
    model = ReferenceAudiovisualModel(image_arch, audio_arch, embed_dim)
    problems = []
    if unknown:
        shown = ", ".join(unknown[:8]) + (" ..." if len(unknown) > 8 else "")
        problems.append(f"unknown: {shown}")
    mismatch = state_dict_mismatch(model.state_dict(), renamed)
    if mismatch:
        problems.append(mismatch)
    if problems:
        hints = []
        for flag, prefix, chosen in (
            ("--image-arch", "image_encoder.net.", image_arch),
            ("--audio-arch", "audio_encoder.net.", audio_arch),
        ):
            guess = _guess_arch(renamed, prefix)
            if guess is not None and guess != chosen:
                hints.append(f"its keys look like {flag} {guess}")
        hint = f" ({'; '.join(hints)})" if hints else ""
        raise ModelFileError(
            f"{checkpoint}: not a {REFERENCE_REPOSITORY} {image_arch}/{audio_arch} checkpoint"
            f"{hint}: {'; '.join(problems)}"
        )
    model.load_state_dict(renamed, strict=True)
    metadata = ModelMetadata(
        kind="audiovisual",
        family=FAMILY,
        image_arch=image_arch,
        audio_arch=audio_arch,
        embed_dim=embed_dim,
        bands=[1, 2, 3],
        normalization={"mean": list(IMAGE_MEAN), "std": list(IMAGE_STD), "scale": 255.0},
        tile_px=REFERENCE_TILE_PX,
        provenance={
            "command": "import-reference",
            "origin": f"checkpoint of {REFERENCE_REPOSITORY} (reference training code)",
            "imported_from": checkpoint.name,
            "imported_sha256": _file_sha256(checkpoint),
            "reference_commit": REFERENCE_COMMIT,
            "ignored_keys": ignored,
        },
        extra={"reference": reference_conventions(loss)},
    )
    save_model_file(out, renamed, metadata)
    return metadata


def export_reference_state_dict(model_file: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The reference-layout state dict of a ``reference``-family model file (the inverse map).

    Raises:
        ModelFileError: Not a model file of the reference family.
    """
    state, metadata = load_model_file(model_file)
    if metadata.family != FAMILY:
        raise ModelFileError(
            f"{model_file}: a {metadata.family} model; only reference-family models "
            "export to the reference's checkpoint layout"
        )
    return to_reference_keys(state)

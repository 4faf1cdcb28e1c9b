"""Import checkpoints saved by the paper's training code (khdlr/SoundingEarth) as model files.

The reference saves ``torch.save(model.state_dict())`` of its ``FullModelWrapper``:
keys ``img_encoder.module_list.0.*`` (image ResNet), ``snd_encoder.module_list.0.*``
(spectrogram ResNet) and, for some losses, ``loss_function.*`` (a projection head
used only in training). The file is read with ``torch.load(weights_only=True)``;
each encoder's block type, depths and widths are read from its tensor shapes
(:func:`backend.models.reference.infer_resnet`: the final layout of the published
weights, or the one-day 2c55025 layout), every encoder tensor is mapped onto
:mod:`backend.models.reference`, and a normal ``.safetensors`` model file of the
``reference`` family is written, recording the widths, so every command and the
plugin run it unchanged. A release archive (``.zip`` holding the ``.pt`` and,
optionally, the run's ``config.yml``) is accepted too.
"""

from __future__ import annotations

import os
import re
import tempfile
import zipfile
from pathlib import Path

import torch

from backend.download import sha256_file
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
    KNOWN_WIDTHS,
    REFERENCE_COMMIT,
    REFERENCE_REPOSITORY,
    SPECTROGRAM_HIGH,
    SPECTROGRAM_LOW,
    LayoutError,
    ReferenceAudiovisualModel,
    from_reference_keys,
    infer_resnet,
    layout_name,
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
    """The reference's input conventions and ranking distance, as recorded in the metadata.

    Checked against the reference's final commit (:data:`REFERENCE_COMMIT`):
    ``data_loading.py`` and the reducers are unchanged since commit 5acdef0 and
    ``lib/models/resnet.py`` changed only its widths (and a dead ``return``) after
    2c55025, so these conventions hold for both layouts.
    """
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
        "sound_reducer_note": (
            "the reference's config.py default (SoundMeanPool over up to MaxSamples=25 "
            "windows); its final config.yml trains and evaluates on one random 128-frame "
            "window per recording (RandomAudioSample, MaxSamples 1): this project embeds "
            "every window and averages, which is deterministic"
        ),
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


#: the encoders of a reference checkpoint: option, model-file prefix, metadata key
_ENCODERS = (
    ("--image-arch", "image_encoder.net.", "image"),
    ("--audio-arch", "audio_encoder.net.", "audio"),
)
#: names under which a release archive may hold the checkpoint, in order of preference
_CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")


def _is_torch_zip(names: list[str]) -> bool:
    """Whether a zip archive's members are those of ``torch.save`` (NAME/data.pkl ...)."""
    return any(n.endswith("/data.pkl") or n == "data.pkl" for n in names)


def _config_value(text: str, key: str) -> str | None:
    """A top-level ``Key: value`` of a reference config.yml (flat YAML; no parser needed)."""
    match = re.search(rf"^{re.escape(key)}\s*:\s*([A-Za-z0-9_.]+)\s*(?:#.*)?$", text, re.M)
    return match.group(1) if match else None


def _unpack_release(archive: Path, folder: Path) -> tuple[Path, str, str | None]:
    """Extract the checkpoint (and config.yml, if any) of a release ZIP into ``folder``.

    Returns:
        The extracted checkpoint, its name in the archive and the config.yml text
        (None without one).

    Raises:
        ModelFileError: No checkpoint, or several without ``latest``/``best`` among them.
    """
    with zipfile.ZipFile(archive) as zf:
        members = [i for i in zf.infolist() if not i.is_dir()]
        checkpoints = [i for i in members if i.filename.lower().endswith(_CHECKPOINT_SUFFIXES)]
        if not checkpoints:
            names = ", ".join(i.filename for i in members[:8]) or "nothing"
            raise ModelFileError(
                f"{archive}: a ZIP archive without a checkpoint (.pt, .pth or .ckpt); it holds {names}"
            )
        if len(checkpoints) > 1:
            preferred = [
                i for i in checkpoints if Path(i.filename).stem in ("latest", "best", "model")
            ]
            if not preferred:
                names = ", ".join(i.filename for i in checkpoints)
                raise ModelFileError(
                    f"{archive}: several checkpoints ({names}); extract the one to import and "
                    "pass it with --checkpoint"
                )
            checkpoints = preferred
        chosen = checkpoints[0]
        target = folder / "checkpoint.pt"
        with zf.open(chosen) as src, target.open("wb") as dst:
            for block in iter(lambda: src.read(1 << 20), b""):
                dst.write(block)
        config = None
        configs = [i for i in members if Path(i.filename).name in ("config.yml", "config.yaml")]
        if configs:
            config = zf.read(configs[0]).decode("utf-8", errors="replace")
    return target, chosen.filename, config


def read_reference_state(
    checkpoint: Path,
) -> tuple[dict[str, torch.Tensor], str | None]:
    """The tensors of a reference checkpoint (``.pt`` or a release ZIP holding one).

    Returns:
        The state dict (``module.`` prefixes removed) and, for a release ZIP with
        one, its config.yml text.

    Raises:
        ModelFileError: Not a checkpoint, Python objects inside, or an archive
            without a checkpoint.
    """
    try:
        release = False
        if zipfile.is_zipfile(checkpoint):
            with zipfile.ZipFile(checkpoint) as zf:
                release = not _is_torch_zip(zf.namelist())
        if not release:
            return read_state_dict_file(checkpoint), None
        with tempfile.TemporaryDirectory(prefix=".import-", dir=checkpoint.parent) as tmp:
            inner, member, config = _unpack_release(checkpoint, Path(tmp))
            try:
                return read_state_dict_file(inner), config
            except ValueError as exc:  # name the archive's member, not the temporary copy
                message = str(exc).replace(str(inner), f"{checkpoint} ({member})")
                raise ModelFileError(message) from exc
    except zipfile.BadZipFile as exc:
        raise ModelFileError(f"{checkpoint}: a damaged ZIP archive ({exc})") from exc
    except ModelFileError:
        raise
    except ValueError as exc:
        raise ModelFileError(str(exc)) from exc


def _layout_description(arch: str, widths) -> str:
    return f"{arch}, stem {widths.stem}, stages {'/'.join(map(str, widths.stages))} ({layout_name(widths)} layout)"


def import_reference_checkpoint(
    checkpoint: str | os.PathLike,
    out: str | os.PathLike,
    image_arch: str = "auto",
    audio_arch: str = "auto",
    loss: str | None = None,
) -> ModelMetadata:
    """Convert a khdlr/SoundingEarth checkpoint into a ``reference``-family model file.

    Each encoder's block type, depths, stem and stage widths are read from the
    checkpoint's tensor shapes; the final layout (stages 64/182/256/512, the
    published weights') and the 2c55025 layout (32/64/128/256) are accepted.

    Args:
        checkpoint: The ``.pt`` state dict saved by the reference's ``train.py``
            (e.g. ``latest.pt``), or a release ``.zip`` holding one (and possibly
            the run's config.yml, whose ``LossFunction`` and ``ImageEncoder`` are
            then used); a dict holding it under ``state_dict`` or ``model`` and
            ``module.`` prefixes (DataParallel) are accepted.
        out: The ``.safetensors`` model file to write (atomically).
        image_arch: The image encoder's architecture (``resnet18``, ``resnet34``,
            ``resnet50``), checked against the checkpoint, or ``auto`` (default).
        audio_arch: The same for the spectrogram encoder.
        loss: The ``LossFunction`` the checkpoint was trained with (its run's
            config.yml; the paper's is ``TripletLoss``, the default): it decides the
            ranking distance recorded (:data:`LOSS_DISTANCES`).

    Returns:
        The metadata written.

    Raises:
        FileNotFoundError: ``checkpoint`` does not exist.
        ModelFileError: The file holds Python objects (refused), is not a state dict,
            an encoder's shapes fit neither layout (the shapes found are named), an
            architecture given does not match, or keys are unknown or missing.
    """
    checkpoint = Path(checkpoint)
    if loss is not None:
        loss_distance(loss)
    if not checkpoint.is_file():
        raise FileNotFoundError(f"{checkpoint}: checkpoint not found")
    for name, arch in (("--image-arch", image_arch), ("--audio-arch", audio_arch)):
        if arch not in ARCHITECTURES and arch != "auto":
            raise ModelFileError(
                f"{name} must be auto or one of {sorted(ARCHITECTURES)}, got {arch!r}"
            )
    state, config = read_reference_state(checkpoint)
    if loss is None:
        loss = (config and _config_value(config, "LossFunction")) or DEFAULT_LOSS
        loss_distance(loss)
    renamed, ignored, unknown = from_reference_keys(state)
    where = f"{checkpoint}: not a {REFERENCE_REPOSITORY} checkpoint"
    if unknown and not renamed:
        shown = ", ".join(unknown[:8]) + (" ..." if len(unknown) > 8 else "")
        raise ModelFileError(
            f"{where}: none of its keys belong to the reference's encoders "
            f"(img_encoder.module_list.0.*, snd_encoder.module_list.0.*); found {shown}"
        )
    layouts = {}
    problems = []
    for flag, prefix, encoder in _ENCODERS:
        try:
            found_arch, widths = infer_resnet(renamed, prefix)
        except LayoutError as exc:
            problems.append(f"{encoder} encoder: {exc}")
            continue
        chosen = image_arch if encoder == "image" else audio_arch
        if chosen not in ("auto", found_arch):
            problems.append(
                f"{flag} {chosen}, but the {encoder} encoder's weights are a {found_arch}"
            )
        layouts[encoder] = (found_arch, widths)
    if problems:
        raise ModelFileError(f"{where}: {'; '.join(problems)}")
    (image_found, image_widths), (audio_found, audio_widths) = layouts["image"], layouts["audio"]
    fc = renamed.get("image_encoder.net.fc.weight")
    embed_dim = int(fc.shape[0]) if fc is not None and fc.ndim == 4 else 128
    model = ReferenceAudiovisualModel(
        image_found,
        audio_found,
        embed_dim,
        image_widths=image_widths,
        audio_widths=audio_widths,
    )
    if unknown:
        shown = ", ".join(unknown[:8]) + (" ..." if len(unknown) > 8 else "")
        problems.append(f"unknown: {shown}")
    mismatch = state_dict_mismatch(model.state_dict(), renamed)
    if mismatch:
        problems.append(mismatch)
    if problems:
        raise ModelFileError(
            f"{where} with a {_layout_description(image_found, image_widths)} image and a "
            f"{_layout_description(audio_found, audio_widths)} audio encoder: "
            f"{'; '.join(problems)}"
        )
    model.load_state_dict(renamed, strict=True)
    layout_commits = {
        encoder: KNOWN_WIDTHS[layout_name(w)][1]
        for encoder, (_, w) in layouts.items()
        if layout_name(w) in KNOWN_WIDTHS
    }
    metadata = ModelMetadata(
        kind="audiovisual",
        family=FAMILY,
        image_arch=image_found,
        audio_arch=audio_found,
        embed_dim=embed_dim,
        bands=[1, 2, 3],
        normalization={"mean": list(IMAGE_MEAN), "std": list(IMAGE_STD), "scale": 255.0},
        tile_px=REFERENCE_TILE_PX,
        widths=model.widths_metadata(),
        provenance={
            "command": "import-reference",
            "origin": f"checkpoint of {REFERENCE_REPOSITORY} (reference training code)",
            "imported_from": checkpoint.name,
            "imported_sha256": sha256_file(checkpoint),
            "reference_commit": REFERENCE_COMMIT,
            "layout": {encoder: layout_name(w) for encoder, (_, w) in layouts.items()},
            "layout_commit": layout_commits,
            "ignored_keys": ignored,
            **({"config_yml": config} if config else {}),
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

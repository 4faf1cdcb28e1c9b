"""ADVANCE audiovisual scene classification: logistic regression on image and sound embeddings.

ADVANCE (Hu et al., ECCV 2020; Zenodo record 3828124) pairs 5075 aerial images
with geotagged sound recordings in 13 scene classes. Unpacked, its two archives
give one folder per class under each of ``vision/`` and ``sound/``::

    vision/<class>/<id>.jpg     512 x 512 RGB
    sound/<class>/<id>.wav      about 10 s

A scene is an image and a sound with the same class folder and file stem. The
paper's protocol (khdlr/SoundingEarth ``downstream/advance.py``), reimplemented
here: each image is averaged 2 x 2 (512 -> 256 px) and embedded by the
audiovisual model's image encoder, each sound by its audio encoder; a multinomial
logistic regression (L2, C = 1) is fitted on the image embeddings, the sound
embeddings, their mean and their concatenation; a stratified 20 % of the scenes
is the test set, and each of 5 splits fits on a stratified 70 % (the remaining
10 % is the reference's unused validation part). Weighted precision, recall and
F1 (and overall accuracy) are reported as mean ± standard deviation over the splits.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from backend.atomic import atomic_write_text
from backend.data.skipped import skip_summary
from backend.progress import NullProgress, Progress, SubProgress, check_cancelled
from backend.transfer.metrics import classification_metrics, mean_std
from backend.transfer.probes import fit_logistic

log = logging.getLogger(__name__)

#: the four inputs of the classifier
VARIANTS: tuple[str, ...] = ("image", "sound", "mean", "concat")
VISION_FOLDER = "vision"
SOUND_FOLDER = "sound"
IMAGE_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg", ".png")
SOUND_SUFFIXES: tuple[str, ...] = (".wav", ".flac", ".ogg", ".mp3")
#: the paper's protocol
SPLITS = 5
TEST_SHARE = 0.2
VALIDATION_SHARE = 0.1
#: scikit-learn's default inverse regularisation strength, as the reference uses it
C = 1.0
#: spectrogram windows embedded per recording at most (a 10 s clip has 3)
MAX_WINDOWS = 8
#: scenes decoded and embedded together
BATCH = 32

MISSING_SOUND = "missing sound"
MISSING_IMAGE = "missing image"
UNREADABLE_IMAGE = "unreadable image"
UNREADABLE_SOUND = "unreadable sound"
_REASON_ORDER = (MISSING_SOUND, MISSING_IMAGE, UNREADABLE_IMAGE, UNREADABLE_SOUND)


@dataclass(frozen=True)
class AdvanceScene:
    """One image/sound pair of the dataset."""

    image: Path
    sound: Path
    #: class index (position of its folder in :attr:`AdvanceSet.class_names`)
    label: int


# laid out like data.scenes.SceneSet (root, classes, items, skipped files), but its items
# are image-and-sound pairs and it counts both kinds of file
@dataclass
class AdvanceSet:
    """The scenes of an ADVANCE folder and the files left out, with why."""

    root: Path
    class_names: list[str]
    scenes: list[AdvanceScene]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: image or sound files considered
    total: int = 0

    def summary(self) -> str:
        """One line counting the files left out, by cause."""
        return skip_summary((r for _, r in self.skipped), self.total, "files", _REASON_ORDER)


def _files(folder: Path, suffixes: Sequence[str]) -> dict[str, Path]:
    if not folder.is_dir():
        return {}
    found = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in suffixes and not path.name.startswith("."):
            found.setdefault(path.stem, path)
    return found


def scan_advance(root: str | os.PathLike) -> AdvanceSet:
    """Pair the images and sounds of an ADVANCE folder by class folder and file stem.

    Raises:
        FileNotFoundError: ``root`` or its ``vision``/``sound`` folder is missing.
        ValueError: No class folders, or no scene has both an image and a sound.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: ADVANCE folder not found")
    for name in (VISION_FOLDER, SOUND_FOLDER):
        if not (root / name).is_dir():
            raise FileNotFoundError(
                f"{root}: no {name}/ folder; expected vision/<class>/<id>.jpg and "
                "sound/<class>/<id>.wav (ADVANCE_vision.zip and ADVANCE_sound.zip from "
                "Zenodo record 3828124, unpacked into this folder)"
            )
    classes = sorted(
        p.name
        for p in (root / VISION_FOLDER).iterdir()
        if p.is_dir() and not p.name.startswith(".")
    )
    if len(classes) < 2:
        raise ValueError(f"{root / VISION_FOLDER}: at least two class folders are needed")
    scenes: list[AdvanceScene] = []
    skipped: list[tuple[str, str]] = []
    total = 0
    for label, name in enumerate(classes):
        images = _files(root / VISION_FOLDER / name, IMAGE_SUFFIXES)
        sounds = _files(root / SOUND_FOLDER / name, SOUND_SUFFIXES)
        total += len(images) + len(sounds)
        for stem, image in images.items():
            if stem in sounds:
                scenes.append(AdvanceScene(image, sounds[stem], label))
            else:
                skipped.append((str(image), MISSING_SOUND))
        skipped.extend((str(s), MISSING_IMAGE) for stem, s in sounds.items() if stem not in images)
    if not scenes:
        raise ValueError(f"{root}: no scene has both an image and a sound")
    return AdvanceSet(root, classes, scenes, skipped, total)


def _load_image(path: Path) -> torch.Tensor:
    """RGB in [0, 1], averaged 2 x 2 as the reference does (512 -> 256 px)."""
    from backend.data.scenes import read_scene_pixels

    pixels = read_scene_pixels(path)
    x = torch.from_numpy(pixels.astype(np.float32)) / 255.0
    return F.avg_pool2d(x[None], 2)[0]


def _load_sound(path: Path, encoding: str, frames: int) -> torch.Tensor:
    """The recording's spectrogram windows ``[n, 128, frames]`` in the model's ``encoding``
    (the front end every raw-audio reader of the product uses for that encoding)."""
    from backend.audio import spectrogram_for_model, spectrogram_windows
    from backend.raster.soundmap import spread_windows

    return spread_windows(
        spectrogram_windows(spectrogram_for_model(path, encoding), frames), MAX_WINDOWS
    )


def _decode(
    scene: AdvanceScene, encoding: str, frames: int
) -> tuple[torch.Tensor | None, torch.Tensor | None, str]:
    """``(image, sound windows, "")`` or ``(None, None, reason)`` naming what failed."""
    from backend.audio import AudioError, EncodingError
    from backend.data.scenes import SceneReadError

    try:
        image = _load_image(scene.image)
    except SceneReadError:
        return None, None, UNREADABLE_IMAGE
    try:
        return image, _load_sound(scene.sound, encoding, frames), ""
    except EncodingError:
        raise
    except (AudioError, OSError, ValueError):
        return None, None, UNREADABLE_SOUND


@torch.no_grad()
def embed_advance(
    dataset: AdvanceSet,
    model_path: str | os.PathLike,
    device: str = "auto",
    progress: Progress | None = None,
    batch_size: int = BATCH,
    workers: int = 4,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, AdvanceSet]:
    """Image and sound embeddings of every readable scene.

    The embeddings are those the pretraining loss compared: unnormalised for
    reference-family models, unit length for this project's (a recording's is the
    mean of its windows', renormalised for the latter). Scenes whose image or sound
    cannot be decoded are skipped and counted. Scenes are decoded by ``workers``
    threads and embedded ``batch_size`` at a time.

    Returns:
        ``(image [N, D], sound [N, D], labels [N], the dataset less the skipped scenes)``.

    Raises:
        ModelFileError: Not an audiovisual model file.
        ValueError: No scene could be read.
    """
    from backend.audio import model_encoding, model_window_frames
    from backend.device import resolve_device
    from backend.models.modelfile import load_audiovisual_model

    progress = progress or NullProgress()
    torch_device = resolve_device(device)
    model, metadata = load_audiovisual_model(model_path, device=torch_device)
    normalised = metadata.family != "reference"
    encoding = model_encoding(metadata, str(model_path))
    decode = functools.partial(_decode, encoding=encoding, frames=model_window_frames(metadata))
    images, sounds, labels, kept = [], [], [], []
    skipped = list(dataset.skipped)
    # import what decoding needs once, here: a first import racing in several threads fails
    import torchaudio.functional  # noqa: F401
    import torchaudio.transforms  # noqa: F401

    with ThreadPoolExecutor(max(1, workers)) as pool:
        for start in range(0, len(dataset.scenes), batch_size):
            check_cancelled(progress)
            chunk = dataset.scenes[start : start + batch_size]
            pixels, windows, owners = [], [], []
            for scene, (image, sound, reason) in zip(chunk, pool.map(decode, chunk), strict=True):
                if image is None or sound is None:
                    path = scene.image if reason == UNREADABLE_IMAGE else scene.sound
                    skipped.append((str(path), reason))
                    continue
                owners.extend([len(kept)] * sound.shape[0])
                pixels.append(image)
                windows.append(sound)
                labels.append(scene.label)
                kept.append(scene)
            if not pixels:
                continue
            if all(p.shape == pixels[0].shape for p in pixels):
                images.extend(
                    model.encode_image(torch.stack(pixels).to(torch_device)).float().cpu()
                )
            else:  # images of several sizes: one at a time
                images.extend(
                    model.encode_image(p[None].to(torch_device)).float().cpu()[0] for p in pixels
                )
            z = model.encode_audio(torch.cat(windows).unsqueeze(1).to(torch_device)).float().cpu()
            owner = torch.as_tensor(owners)
            for index in owner.unique().tolist():
                z_sound = z[owner == index].mean(0)
                sounds.append(F.normalize(z_sound, dim=0) if normalised else z_sound)
            done = min(len(dataset.scenes), start + batch_size)
            progress.progress(done / len(dataset.scenes), f"embedded {done} scenes")
    if not kept:
        raise ValueError(f"{dataset.root}: none of the {len(dataset.scenes)} scenes could be read")
    rest = AdvanceSet(dataset.root, dataset.class_names, kept, skipped, dataset.total)
    return (
        torch.stack(images).double().numpy(),
        torch.stack(sounds).double().numpy(),
        np.asarray(labels, dtype=np.int64),
        rest,
    )


def stratified_split(labels: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split positions into ``(rest, part)`` with about ``share`` of each class in ``part``.

    Each class gives ``round(share x its count)`` images to ``part`` (at least one
    when it has two or more, and always leaves one in ``rest``), drawn by a
    generator seeded with ``seed``.
    """
    generator = np.random.default_rng(seed)
    part: list[int] = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        take = int(round(share * len(members)))
        if len(members) >= 2:
            take = min(max(take, 1), len(members) - 1)
        else:
            take = 0
        part.extend(generator.choice(members, size=take, replace=False).tolist())
    part_set = set(part)
    rest = [i for i in range(len(labels)) if i not in part_set]
    return np.asarray(rest, dtype=np.int64), np.asarray(sorted(part), dtype=np.int64)


def variant_features(image: np.ndarray, sound: np.ndarray, variant: str) -> np.ndarray:
    """The classifier's input: ``image``, ``sound``, their ``mean`` or their ``concat``."""
    if variant == "image":
        return image
    if variant == "sound":
        return sound
    if variant == "mean":
        return (image + sound) / 2
    if variant == "concat":
        return np.concatenate([image, sound], axis=1)
    raise ValueError(f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}")


def logistic_regression_predict(
    train: np.ndarray, train_labels: np.ndarray, test: np.ndarray, num_classes: int, c: float = C
) -> np.ndarray:
    """scikit-learn's ``LogisticRegression(C=c)`` (multinomial, L2, on the raw features)."""
    x = torch.from_numpy(np.ascontiguousarray(train, dtype=np.float64))
    y = torch.from_numpy(np.asarray(train_labels, dtype=np.int64))
    weight, bias = fit_logistic(x, y, num_classes, 1.0 / (2.0 * c * len(y)))
    logits = torch.from_numpy(np.ascontiguousarray(test, dtype=np.float64)) @ weight.T + bias
    return logits.argmax(1).numpy()


def run_advance(
    data: str | os.PathLike,
    model_path: str | os.PathLike,
    splits: int = SPLITS,
    seed: int = 0,
    device: str = "auto",
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The paper's ADVANCE evaluation of an audiovisual model file.

    Args:
        data: The ADVANCE folder (``vision/`` and ``sound/``).
        model_path: An audiovisual model file.
        splits: Training splits (the paper: 5).
        seed: Seeds the test split and, with the split number, each training split.
        device: ``auto``, ``cpu`` or ``cuda[:N]``.
        progress: Receives progress and is asked about cancellation.

    Returns:
        A JSON-ready report: per variant, per-split and mean ± std of weighted
        precision, recall, F1 and overall accuracy.

    Raises:
        FileNotFoundError: The folder or model file is missing.
        ValueError: Bad layout or settings, or too few scenes.
    """
    if splits < 1:
        raise ValueError(f"--splits must be at least 1, got {splits}")
    if not Path(model_path).is_file():
        raise FileNotFoundError(f"--model {model_path}: file not found")
    progress = progress or NullProgress()
    dataset = scan_advance(data)
    image, sound, labels, dataset = embed_advance(
        dataset, model_path, device, SubProgress(progress, 0.0, 0.9)
    )
    num_classes = len(dataset.class_names)
    if len(np.unique(labels)) < 2:
        raise ValueError(f"{data}: readable scenes of at least two classes are needed")
    trainval, test = stratified_split(labels, TEST_SHARE, seed)
    if len(test) == 0:
        raise ValueError(f"{data}: {len(labels)} readable scenes are too few for a test split")
    results: dict[str, Any] = {}
    for number, variant in enumerate(VARIANTS):
        check_cancelled(progress)
        features = variant_features(image, sound, variant)
        runs = []
        for split in range(splits):
            train_pos, _ = stratified_split(
                labels[trainval], VALIDATION_SHARE / (1 - TEST_SHARE), seed + 42 * (split + 1)
            )
            train = trainval[train_pos]
            predicted = logistic_regression_predict(
                features[train], labels[train], features[test], num_classes
            )
            metrics = classification_metrics(labels[test], predicted, num_classes)
            runs.append(
                {
                    "split": split,
                    "n_train": len(train),
                    "precision": metrics["weighted_precision"],
                    "recall": metrics["weighted_recall"],
                    "f1": metrics["weighted_f1"],
                    "accuracy": metrics["accuracy"],
                }
            )
        results[variant] = {
            key: mean_std([r[key] for r in runs])
            for key in ("precision", "recall", "f1", "accuracy")
        } | {"runs": runs}
        progress.progress(0.9 + 0.1 * (number + 1) / len(VARIANTS), f"{variant} done")
    return {
        "task": "advance",
        "data": str(data),
        "model": str(model_path),
        "class_names": dataset.class_names,
        "n_scenes": int(len(labels)),
        "n_test": int(len(test)),
        "splits": splits,
        "seed": seed,
        "classifier": f"multinomial logistic regression, L2, C = {C:g}, raw embeddings",
        "metrics": "weighted precision, recall and F1 (by class support); overall accuracy",
        "skipped": dataset.summary(),
        "skipped_files": [list(item) for item in dataset.skipped],
        "variants": results,
    }


def format_advance(result: dict[str, Any]) -> str:
    """The report as a small text table (percent, mean ± std over the splits)."""
    lines = [
        f"ADVANCE on {result['data']}: {result['n_scenes']} scenes, "
        f"{len(result['class_names'])} classes, {result['n_test']} test scenes, "
        f"{result['splits']} training splits",
        f"{'input':<8} {'precision':>15} {'recall':>15} {'F1':>15} {'accuracy':>15}",
    ]
    for variant, values in result["variants"].items():
        cells = [
            f"{100 * values[k]['mean']:6.2f} ± {100 * values[k]['std']:5.2f}"
            for k in ("precision", "recall", "f1", "accuracy")
        ]
        lines.append(f"{variant:<8} " + " ".join(f"{c:>15}" for c in cells))
    return "\n".join(lines)


def write_advance(result: dict[str, Any], path: str | os.PathLike) -> None:
    """Write the report as JSON, atomically."""
    atomic_write_text(path, json.dumps(result, indent=2) + "\n")

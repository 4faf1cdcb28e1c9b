"""Transfer protocols: this project's, and the paper's downstream code's as a preset.

The paper (khdlr/SoundingEarth, ``downstream/*.py``) fine-tunes every
initialisation the same way: Adam at 1e-3 for every parameter, 5 epochs, no
augmentation, a linear head on the image encoder's output (the 128-d embedding
for an audiovisual model, the pooled features for a torchvision ResNet), UC
Merced resized to 256 px, AID and NWPU-RESISC45 at their own size, batch 48 (8 for
AID's 600 px images). Its AID few-shot takes 5 images per class from the whole
set, views each as the centre 192 px of the image resized to 300, and assigns the
rest to the nearest class centroid of the embeddings.

:func:`transfer_config` builds a :class:`TransferConfig` from a protocol's defaults
and the flags a user gave; :func:`settle` fills in what depends on the dataset.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from backend.transfer.datasets import PROTOCOLS, PreparedScenes, TransferConfig

#: settings ``--protocol paper`` changes (``None``: the images' own size)
PAPER_SETTINGS: dict[str, Any] = {
    "epochs": 5,
    "lr": 1e-3,
    "trunk_lr_factor": 1.0,
    "weight_decay": 0.0,
    "image_size": None,
    "batch_size": None,
    "precision": "fp32",
    "shots": 5,
}
#: the reference's batch sizes: 48 (UC Merced, RESISC45 at 256 px), 8 (AID at 600 px)
PAPER_BATCH = 48
PAPER_LARGE_BATCH = 8
#: images larger than this (px) take the small batch
PAPER_LARGE_SIDE = 256
#: the paper's few-shot view: shorter side resized to 300, centre 192 px
PAPER_FEWSHOT_RESIZE = 300
PAPER_FEWSHOT_CROP = 192
#: transfer-table's default modes per protocol (the paper has no linear probe of scenes)
DEFAULT_MODES: dict[str, tuple[str, ...]] = {
    "product": ("linear", "finetune", "fewshot"),
    "paper": ("finetune", "fewshot"),
}
#: the product's batch when none is given
PRODUCT_BATCH = 32


def transfer_config(protocol: str, scenes: str, **overrides: Any) -> TransferConfig:
    """The protocol's defaults, then every override that is not None.

    Raises:
        ValueError: An unknown protocol.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"--protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    values: dict[str, Any] = dict(PAPER_SETTINGS) if protocol == "paper" else {}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return TransferConfig(scenes=scenes, protocol=protocol, **values)


def batch_size_for(config: TransferConfig, image_size: int) -> int:
    """The batch: the setting, else the protocol's rule for images of ``image_size``."""
    if config.batch_size is not None:
        return config.batch_size
    if config.protocol == "paper":
        return PAPER_LARGE_BATCH if image_size > PAPER_LARGE_SIDE else PAPER_BATCH
    return PRODUCT_BATCH


def settle(config: TransferConfig, data: PreparedScenes) -> TransferConfig:
    """A copy of ``config`` with the image size and batch this dataset gets."""
    return dataclasses.replace(
        config,
        image_size=data.image_size,
        batch_size=batch_size_for(config, data.image_size),
    )

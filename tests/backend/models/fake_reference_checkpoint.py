"""Fake khdlr/SoundingEarth checkpoints: the reference's exact key layout and shapes, random values.

The layout is written here as data from the reference's architecture description
(lib/models/resnet.py, lib/utils.py, train.py of khdlr/SoundingEarth at its final
commit 2b7755c, and at commit 2c55025 for the narrow layout), independently of the
importer, so a test can catch a mapping that drifts from it:

* ``FullModelWrapper`` holds ``img_encoder`` and ``snd_encoder``, each a
  ``TupleSequential(ResNet, reducer)``: keys ``img_encoder.module_list.0.*`` and
  ``snd_encoder.module_list.0.*`` (the reducers have no weights).
* ResNet: 7x7/2 stem convolution to 32 channels and its BatchNorm; stages of 64,
  182, 256 and 512 planes (final layout; 32, 64, 128 and 256 at commit 2c55025),
  x4 for bottleneck blocks, with stride 1, 2, 2, 2; a ``downsample`` (1x1
  convolution + BatchNorm) on the first block of a stage when the stride or the
  channel count changes (so the final layout's layer1 has one: 32 -> 64); ``fc`` a
  1x1 convolution with bias reading ``512 * expansion`` (final) channels.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

#: stage planes of the reference's two layouts (lib/models/resnet.py, ``_make_layer`` calls)
STAGE_PLANES = {"final": (64, 182, 256, 512), "2c55025": (32, 64, 128, 256)}
LAYOUTS = {"resnet18": ("basic", (2, 2, 2, 2)), "resnet50": ("bottleneck", (3, 4, 6, 3))}
IMAGE_PREFIX = "img_encoder.module_list.0."
SOUND_PREFIX = "snd_encoder.module_list.0."


def _bn(prefix: str, channels: int) -> dict[str, tuple[int, ...]]:
    shapes = {f"{prefix}.{n}": (channels,) for n in ("weight", "bias", "running_mean")}
    shapes[f"{prefix}.running_var"] = (channels,)
    shapes[f"{prefix}.num_batches_tracked"] = ()
    return shapes


def resnet_shapes(
    arch: str, in_channels: int, out_dim: int, layout: str = "final"
) -> dict[str, tuple[int, ...]]:
    """Every state-dict key of one reference ResNet and its shape, in module order."""
    kind, depths = LAYOUTS[arch]
    expansion = 4 if kind == "bottleneck" else 1
    shapes: dict[str, tuple[int, ...]] = {"conv1.weight": (32, in_channels, 7, 7)}
    shapes.update(_bn("bn1", 32))
    channels = 32
    for stage, (planes, depth) in enumerate(
        zip(STAGE_PLANES[layout], depths, strict=True), start=1
    ):
        for block in range(depth):
            p = f"layer{stage}.{block}"
            if kind == "basic":
                shapes[f"{p}.conv1.weight"] = (planes, channels, 3, 3)
                shapes.update(_bn(f"{p}.bn1", planes))
                shapes[f"{p}.conv2.weight"] = (planes, planes, 3, 3)
                shapes.update(_bn(f"{p}.bn2", planes))
            else:
                shapes[f"{p}.conv1.weight"] = (planes, channels, 1, 1)
                shapes.update(_bn(f"{p}.bn1", planes))
                shapes[f"{p}.conv2.weight"] = (planes, planes, 3, 3)
                shapes.update(_bn(f"{p}.bn2", planes))
                shapes[f"{p}.conv3.weight"] = (planes * 4, planes, 1, 1)
                shapes.update(_bn(f"{p}.bn3", planes * 4))
            stride = 2 if (stage > 1 and block == 0) else 1
            if block == 0 and (stride != 1 or channels != planes * expansion):
                shapes[f"{p}.downsample.0.weight"] = (planes * expansion, channels, 1, 1)
                shapes.update(_bn(f"{p}.downsample.1", planes * expansion))
            channels = planes * expansion
    shapes["fc.weight"] = (out_dim, channels, 1, 1)
    shapes["fc.bias"] = (out_dim,)
    return shapes


def checkpoint_shapes(
    image_arch: str = "resnet18",
    audio_arch: str = "resnet18",
    embed_dim: int = 128,
    layout: str = "final",
) -> dict[str, tuple[int, ...]]:
    """The keys and shapes of a reference ``FullModelWrapper`` state dict (triplet loss)."""
    image = resnet_shapes(image_arch, 3, embed_dim, layout)
    sound = resnet_shapes(audio_arch, 1, embed_dim, layout)
    shapes = {IMAGE_PREFIX + k: v for k, v in image.items()}
    shapes.update({SOUND_PREFIX + k: v for k, v in sound.items()})
    return shapes


def random_state(shapes: dict[str, tuple[int, ...]], seed: int = 0) -> dict[str, torch.Tensor]:
    """Seeded random tensors of ``shapes`` with BatchNorm statistics that keep activations O(1)."""
    g = torch.Generator().manual_seed(seed)
    state: dict[str, torch.Tensor] = {}
    for key, shape in shapes.items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(int(torch.randint(1, 1000, (), generator=g)))
        elif key.endswith("running_var"):
            state[key] = 0.5 + torch.rand(shape, generator=g)
        elif key.endswith(".weight") and len(shape) == 1:  # BatchNorm scale: damp the residuals
            state[key] = 0.2 + 0.3 * torch.rand(shape, generator=g)
        elif len(shape) == 1:  # bias, running_mean
            state[key] = 0.1 * torch.randn(shape, generator=g)
        else:  # convolution: He initialisation
            fan_in = math.prod(shape[1:])
            state[key] = torch.randn(shape, generator=g) * math.sqrt(2.0 / fan_in)
    return state


def write_fake_checkpoint(
    path: Path,
    image_arch: str = "resnet18",
    audio_arch: str = "resnet18",
    embed_dim: int = 128,
    seed: int = 0,
    extra: dict[str, torch.Tensor] | None = None,
    layout: str = "final",
) -> dict[str, torch.Tensor]:
    """Save a reference checkpoint with ``torch.save(state_dict)``; return the state dict.

    ``layout``: ``final`` (the published weights' widths) or ``2c55025``.
    """
    state = random_state(checkpoint_shapes(image_arch, audio_arch, embed_dim, layout), seed)
    state.update(extra or {})
    torch.save(state, path)
    return state

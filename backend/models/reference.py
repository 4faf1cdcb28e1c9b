"""Encoders with the architecture of the paper's own code (khdlr/SoundingEarth), for its checkpoints.

The reference ResNets are not torchvision's: the stem has 32 channels and the
output layer is a 1x1 convolution with bias. Their stage widths changed once in
the reference's history: at commit 2c55025 (2021-04-08) the four stages had
32/64/128/256 planes; from commit 5acdef0 (the next day) to the repository's final
commit, which the published weights belong to, they have 64/182/256/512 planes
(times 4 for bottleneck blocks; ``layer2`` really has 182). A :class:`Widths`
holds the stem and stage widths; :func:`infer_resnet` reads them, the block type
and the depths from a checkpoint's tensor shapes, and model files record them.

The image encoder applies the output convolution to the last feature map and
averages it over space; the audio encoder averages first and then applies it,
once per 128-frame spectrogram window. Neither normalises the embedding: the
reference ranks pairs by Euclidean distance.

This module holds the architecture and the key mapping between the reference's
checkpoints and this project's model files; the import itself is
:mod:`backend.models.reference_import`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.resnet import BasicBlock, Bottleneck

from backend.models.encoders import standardize_tiles

REFERENCE_REPOSITORY = "khdlr/SoundingEarth"
#: the reference's final commit (2023-03-22): the code its published weights belong to
#: (uploaded 2022-01-10), and whose input conventions this module follows
REFERENCE_COMMIT = "2b7755c210e1e95bf68446a5f9891dfc9ee54a0c"
#: the commit of the narrow layout (2021-04-08), the only one with 32/64/128/256 stages
NARROW_COMMIT = "2c55025c4109029f4ce84d74dfa41b80530f35b8"
#: the model-file family of these encoders (``ModelMetadata.family``)
FAMILY = "reference"

#: blocks per stage and block type of each supported architecture (lib/models/resnet.py)
ARCHITECTURES: dict[str, tuple[type[nn.Module], tuple[int, int, int, int]]] = {
    "resnet18": (BasicBlock, (2, 2, 2, 2)),
    "resnet34": (BasicBlock, (3, 4, 6, 3)),
    "resnet50": (Bottleneck, (3, 4, 6, 3)),
}


@dataclass(frozen=True)
class Widths:
    """The channel widths of a reference ResNet: its stem and its four stages' planes."""

    stem: int
    stages: tuple[int, int, int, int]

    def to_list(self) -> list[int]:
        """``[stem, stage1, ..., stage4]``, as model files record it."""
        return [self.stem, *self.stages]

    @classmethod
    def from_list(cls, values: Sequence[int]) -> Widths:
        """Parse ``[stem, stage1, ..., stage4]``.

        Raises:
            ValueError: Not five positive integers.
        """
        values = list(values)
        if len(values) != 5 or any(
            not isinstance(v, int) or isinstance(v, bool) or v < 1 for v in values
        ):
            raise ValueError(
                f"reference widths must be [stem, stage1, stage2, stage3, stage4] as five "
                f"positive integers, got {values!r}"
            )
        return cls(values[0], tuple(values[1:]))  # type: ignore[arg-type]


#: the final layout (commit 5acdef0 to the final commit): the published weights'
FINAL_WIDTHS = Widths(32, (64, 182, 256, 512))
#: the one-day layout of commit 2c55025
NARROW_WIDTHS = Widths(32, (32, 64, 128, 256))
#: the layouts the reference's history had, by name, and the commit each belongs to
KNOWN_WIDTHS: dict[str, tuple[Widths, str]] = {
    "final": (FINAL_WIDTHS, REFERENCE_COMMIT),
    "2c55025": (NARROW_WIDTHS, NARROW_COMMIT),
}
#: widths of reference-family model files written before widths were recorded (the
#: importer and ``pretrain --protocol paper`` then built the 2c55025 layout)
LEGACY_WIDTHS = NARROW_WIDTHS


def recorded_widths(recorded: Mapping[str, Sequence[int]] | None, encoder: str) -> Widths:
    """The widths a reference-family model file records for ``encoder`` (``image``/``audio``).

    Files written before widths were recorded hold the 2c55025 layout.
    """
    if not recorded or encoder not in recorded:
        return LEGACY_WIDTHS
    return Widths.from_list(recorded[encoder])


def layout_name(widths: Widths) -> str:
    """``final``, ``2c55025`` or ``custom``."""
    for name, (known, _) in KNOWN_WIDTHS.items():
        if widths == known:
            return name
    return "custom"


#: The reference loader maps an 8-bit spectrogram pixel p to LOW + p/255 * (HIGH - LOW).
SPECTROGRAM_LOW = math.exp(-1.5)
SPECTROGRAM_HIGH = math.exp(0.5)
#: ImageNet statistics, which the reference applies to pixels / 255 (albumentations' Normalize).
IMAGE_MEAN = (0.485, 0.456, 0.406)
IMAGE_STD = (0.229, 0.224, 0.225)

#: prefixes of the reference's ``FullModelWrapper`` state dict -> this project's model file
KEY_PREFIXES: dict[str, str] = {
    "img_encoder.module_list.0.": "image_encoder.net.",
    "snd_encoder.module_list.0.": "audio_encoder.net.",
}
#: reference keys that hold training-only weights (a loss function's projection head)
IGNORED_PREFIXES = ("loss_function.",)


class ReferenceResNet(nn.Module):
    """The reference ResNet: 32-channel stem, four stages, 1x1 convolution as output layer."""

    def __init__(
        self,
        arch: str,
        in_channels: int,
        out_dim: int | None,
        widths: Widths = FINAL_WIDTHS,
    ) -> None:
        """Build the network (weights random until a state dict is loaded).

        Args:
            arch: ``"resnet18"``, ``"resnet34"`` or ``"resnet50"``.
            in_channels: Input channels (3 for imagery, 1 for spectrograms).
            out_dim: Embedding size (channels of the output convolution), or None
                for a trunk without it, whose ``forward`` gives pooled features
                (for classifiers fine-tuned from a reference image encoder).
            widths: Stem and stage widths (default: the final layout).

        Raises:
            ValueError: Unknown architecture.
        """
        super().__init__()
        if arch not in ARCHITECTURES:
            raise ValueError(
                f"unsupported reference architecture {arch!r}: expected one of "
                f"{sorted(ARCHITECTURES)}"
            )
        block, depths = ARCHITECTURES[arch]
        self.arch = arch
        self.widths = widths
        self.conv1 = nn.Conv2d(in_channels, widths.stem, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths.stem)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        channels = widths.stem
        stages = []
        for index, (planes, depth) in enumerate(zip(widths.stages, depths, strict=True)):
            stage, channels = _stage(block, channels, planes, depth, 1 if index == 0 else 2)
            stages.append(stage)
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.feature_dim = channels
        if out_dim is not None:
            self.fc = nn.Conv2d(channels, out_dim, kernel_size=1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Spatially averaged last-stage features ``[B, F]`` (the trunk's output)."""
        return self.feature_map(x).mean(dim=(2, 3))

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage's feature map ``[B, F, h, w]`` of normalised inputs."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def pool_then_project(self, x: torch.Tensor) -> torch.Tensor:
        """Average the feature map, then the output layer: ``[B, out_dim]`` (the audio path)."""
        pooled = self.feature_map(x).mean(dim=(2, 3), keepdim=True)
        return torch.flatten(self.fc(pooled), 1)

    def project_then_pool(self, x: torch.Tensor) -> torch.Tensor:
        """The output layer on the feature map, then its spatial mean (the image path)."""
        return self.fc(self.feature_map(x)).flatten(2).mean(dim=2)


def reference_init_(module: nn.Module) -> nn.Module:
    """Initialise weights as the reference's ResNet does before training; returns ``module``.

    Every convolution's weight (the output layer's too) is drawn He-normal with
    fan-out scaling for ReLU; batch norms start at weight 1, bias 0. Biases of
    convolutions keep PyTorch's default initialisation, as in the reference.
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)
    return module


def _stage(
    block: type[nn.Module], in_channels: int, planes: int, depth: int, stride: int
) -> tuple[nn.Sequential, int]:
    out_channels = planes * block.expansion
    downsample = None
    if stride != 1 or in_channels != out_channels:
        downsample = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
            nn.BatchNorm2d(out_channels),
        )
    blocks = [block(in_channels, planes, stride, downsample)]
    blocks += [block(out_channels, planes) for _ in range(depth - 1)]
    return nn.Sequential(*blocks), out_channels


class ReferenceImageEncoder(nn.Module):
    """The reference image encoder behind this project's input convention (pixels / scale).

    ``embed`` gives the reference's embedding exactly; ``forward`` gives it
    L2-normalised, as every image consumer of this project (raster tools) expects.
    """

    def __init__(
        self,
        arch: str = "resnet18",
        embed_dim: int = 128,
        mean: Sequence[float] = IMAGE_MEAN,
        std: Sequence[float] = IMAGE_STD,
        widths: Widths = FINAL_WIDTHS,
    ) -> None:
        """Build the encoder.

        Args:
            arch: Trunk architecture.
            embed_dim: Embedding size.
            mean: Per-band mean of inputs in [0, 1].
            std: Per-band standard deviation of inputs in [0, 1].
            widths: Stem and stage widths of the trunk.
        """
        super().__init__()
        mean_t = torch.as_tensor(mean, dtype=torch.float32).flatten()
        std_t = torch.as_tensor(std, dtype=torch.float32).flatten()
        if mean_t.numel() != std_t.numel() or mean_t.numel() < 1:
            raise ValueError(f"mean and std need one value per band, got {mean_t} and {std_t}")
        if (std_t <= 0).any():
            raise ValueError(f"std must be positive, got {std_t.tolist()}")
        self.arch = arch
        self.in_channels = int(mean_t.numel())
        self.embed_dim = embed_dim
        self.net = ReferenceResNet(arch, self.in_channels, embed_dim, widths)
        self.register_buffer("mean", mean_t.view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", std_t.view(1, -1, 1, 1), persistent=False)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Inputs in [0, 1] (uint8 is scaled) -> the reference's normalised inputs."""
        return standardize_tiles(x, self.mean, self.std, self.in_channels)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The reference's (unnormalised) embeddings ``[B, D]`` of tiles ``[B, C, H, W]``."""
        return self.net.project_then_pool(self.normalize(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """L2-normalised embeddings ``[B, D]``."""
        return F.normalize(self.embed(x), dim=1)


class ReferenceAudioEncoder(nn.Module):
    """The reference spectrogram encoder behind this project's spectrogram convention.

    This project's spectrograms are ``[B, 1, 128, T]`` in [0, 1]; the reference
    reads the dataset's JPEGs with rows as stored, as ``backend.audio`` does, and
    maps 8-bit values p to LOW + p / 255 (HIGH - LOW). That map is applied here,
    so a window read from ``spectrograms/{key}.jpg`` reaches the network exactly
    as in the reference loader.
    """

    def __init__(
        self, arch: str = "resnet18", embed_dim: int = 128, widths: Widths = FINAL_WIDTHS
    ) -> None:
        """Build the encoder (``widths``: the trunk's stem and stage widths)."""
        super().__init__()
        self.arch = arch
        self.in_channels = 1
        self.embed_dim = embed_dim
        self.net = ReferenceResNet(arch, 1, embed_dim, widths)

    def reference_input(self, x: torch.Tensor) -> torch.Tensor:
        """Spectrogram windows in this project's convention -> the reference's input values."""
        if x.ndim != 4 or x.shape[1] != 1:
            raise ValueError(f"expected spectrogram windows [B, 1, 128, T], got {list(x.shape)}")
        return x * (SPECTROGRAM_HIGH - SPECTROGRAM_LOW) + SPECTROGRAM_LOW

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The reference's (unnormalised) embedding of each window ``[B, D]``."""
        return self.net.pool_then_project(self.reference_input(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """L2-normalised window embeddings ``[B, D]``."""
        return F.normalize(self.embed(x), dim=1)


class ReferenceAudiovisualModel(nn.Module):
    """The reference's two encoders with the interface of ``AudiovisualModel``.

    ``encode_image`` and ``encode_audio`` return the reference's embeddings,
    unnormalised, so retrieval by Euclidean distance (``evaluate``) ranks exactly
    as the reference does; ``image_encoder`` (used by the raster tools) returns
    them L2-normalised. A recording's embedding is the mean of its windows'
    embeddings, as the reference's ``SoundMeanPool``.
    """

    def __init__(
        self,
        image_arch: str = "resnet18",
        audio_arch: str = "resnet18",
        embed_dim: int = 128,
        mean: Sequence[float] = IMAGE_MEAN,
        std: Sequence[float] = IMAGE_STD,
        image_widths: Widths = FINAL_WIDTHS,
        audio_widths: Widths = FINAL_WIDTHS,
    ) -> None:
        """Build both encoders (random weights until a state dict is loaded).

        ``image_widths`` and ``audio_widths``: each trunk's stem and stage widths
        (default: the final layout, the published weights').
        """
        super().__init__()
        self.image_arch = image_arch
        self.audio_arch = audio_arch
        self.embed_dim = embed_dim
        self.image_encoder = ReferenceImageEncoder(image_arch, embed_dim, mean, std, image_widths)
        self.audio_encoder = ReferenceAudioEncoder(audio_arch, embed_dim, audio_widths)

    def widths_metadata(self) -> dict[str, list[int]]:
        """Both trunks' widths as model files record them (``ModelMetadata.widths``)."""
        return {
            "image": self.image_encoder.net.widths.to_list(),
            "audio": self.audio_encoder.net.widths.to_list(),
        }

    def encode_image(self, x: torch.Tensor) -> torch.Tensor:
        """Embed tiles ``[B, C, H, W]`` in [0, 1] (uint8 is scaled); reference-exact."""
        return self.image_encoder.embed(x)

    def encode_audio(self, x: torch.Tensor) -> torch.Tensor:
        """Embed log-mel windows ``[B, 1, 128, T]`` in [0, 1]; reference-exact."""
        return self.audio_encoder.embed(x)

    def forward(
        self, images: torch.Tensor, audio: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Embed a batch of pairs; returns ``(z_img, z_audio)`` as the reference does."""
        return self.encode_image(images), self.encode_audio(audio)


class LayoutError(ValueError):
    """A state dict whose shapes fit no reference ResNet; the message lists what was found."""


def _found_shapes(state: Mapping[str, torch.Tensor], prefix: str) -> str:
    """The shapes that decide a layout, as one line for an error message."""
    parts = []
    for key in ("conv1.weight", *(f"layer{i}.0.conv1.weight" for i in range(1, 5)), "fc.weight"):
        tensor = state.get(prefix + key)
        shape = "missing" if tensor is None else "x".join(str(d) for d in tensor.shape)
        parts.append(f"{prefix}{key} {shape}")
    return ", ".join(parts)


def infer_resnet(state: Mapping[str, torch.Tensor], prefix: str) -> tuple[str, Widths]:
    """The architecture and widths of the reference ResNet whose weights sit under ``prefix``.

    The stem width is the first convolution's output channels; a stage's width is
    its first block's first convolution's (the planes of a basic or bottleneck
    block); the block type is bottleneck when blocks have a ``conv3``; the depths
    count each stage's blocks. Only the layouts the reference had are accepted
    (:data:`KNOWN_WIDTHS`).

    Raises:
        LayoutError: No weights under ``prefix``, an unknown block arrangement, or
            widths of neither known layout; the message names the shapes found.
    """
    keys = [k[len(prefix) :] for k in state if k.startswith(prefix)]
    if not keys:
        raise LayoutError(f"no weights under {prefix}*")
    bottleneck = "layer1.0.conv3.weight" in keys
    depths = []
    for stage in range(1, 5):
        blocks = {int(k.split(".")[1]) for k in keys if k.startswith(f"layer{stage}.")}
        depths.append(len(blocks))
    block = Bottleneck if bottleneck else BasicBlock
    arch = next(
        (name for name, (b, d) in ARCHITECTURES.items() if b is block and list(d) == depths),
        None,
    )
    found = _found_shapes(state, prefix)
    if arch is None:
        kind = "bottleneck" if bottleneck else "basic"
        raise LayoutError(
            f"{kind} blocks {depths} per stage fit no reference ResNet "
            f"({', '.join(ARCHITECTURES)}); found {found}"
        )
    try:
        widths = Widths(
            int(state[prefix + "conv1.weight"].shape[0]),
            tuple(int(state[f"{prefix}layer{i}.0.conv1.weight"].shape[0]) for i in range(1, 5)),  # type: ignore[arg-type]
        )
    except (KeyError, IndexError):
        raise LayoutError(f"incomplete {arch} weights: found {found}") from None
    if layout_name(widths) == "custom":
        known = "; ".join(
            f"{name} (commit {commit[:7]}): stem {w.stem}, stages {'/'.join(map(str, w.stages))}"
            for name, (w, commit) in KNOWN_WIDTHS.items()
        )
        raise LayoutError(
            f"stem {widths.stem}, stages {'/'.join(map(str, widths.stages))} is neither "
            f"layout of the reference ({known}); found {found}"
        )
    return arch, widths


def from_reference_keys(
    state: Mapping[str, torch.Tensor],
) -> tuple[dict[str, torch.Tensor], list[str], list[str]]:
    """Rename a reference ``FullModelWrapper`` state dict to this project's names.

    Args:
        state: The checkpoint's tensors (``module.`` prefixes already removed).

    Returns:
        ``(renamed, ignored, unknown)``: the encoders' tensors under model-file
        names, the training-only keys left out, and keys that belong to neither.
    """
    renamed: dict[str, torch.Tensor] = {}
    ignored: list[str] = []
    unknown: list[str] = []
    for key, tensor in state.items():
        for old, new in KEY_PREFIXES.items():
            if key.startswith(old):
                renamed[new + key[len(old) :]] = tensor
                break
        else:
            (ignored if key.startswith(IGNORED_PREFIXES) else unknown).append(key)
    return renamed, sorted(ignored), sorted(unknown)


def to_reference_keys(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """This project's names -> the reference ``FullModelWrapper`` names (the inverse mapping).

    Raises:
        ValueError: A key belongs to neither encoder.
    """
    out: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        for old, new in KEY_PREFIXES.items():
            if key.startswith(new):
                out[old + key[len(new) :]] = tensor
                break
        else:
            raise ValueError(f"{key!r} is not a weight of a reference-family encoder")
    return out

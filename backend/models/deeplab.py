"""DeepLabv3+ on a Sounding Earth image trunk: per-pixel land-cover logits, and its model files.

The architecture follows the paper's DeepGlobe experiment (khdlr/SoundingEarth,
``downstream/deepglobe.py``): the ResNet trunk's last stage runs at output stride
16 (its first block's strided convolution becomes a 2-dilated one), torchvision's
DeepLabV3 ASPP (rates 6, 12, 18, 256 channels, image pooling, dropout 0.5) reads
the last stage, and the DeepLabv3+ decoder joins it with the first stage's
features (stride 4, projected to 48 channels) through two 3x3 convolutions of
256 channels before a 1x1 classifier; the logits are upsampled bilinearly to the
input size. The trunk is either family (``native`` torchvision ResNets or the
paper's ``reference`` ResNets), so any audiovisual, classifier or segmentation
model file can start one.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.resnet import Bottleneck
from torchvision.models.segmentation.deeplabv3 import ASPP

from backend.models.classifier import (
    BandStatistics,
    SceneClassifier,
    classifier_metadata,
    classifier_type_from_metadata,
    classifier_type_problems,
    load_classifier_type,
)
from backend.models.modelfile import (
    ModelMetadata,
    save_model_file,
)

if TYPE_CHECKING:
    from backend.models.reference import Widths

#: the model-file kind of segmentation models
KIND = "segmentation"
#: ASPP atrous rates at output stride 16 (as the reference's DeepLab)
ASPP_RATES = (6, 12, 18)
ASPP_CHANNELS = 256
#: channels the low-level (stride 4) features are projected to
LOW_LEVEL_CHANNELS = 48
#: label of pixels that do not count (DeepGlobe's "unknown")
IGNORE_INDEX = 255


def _stage_channels(stage: nn.Sequential) -> int:
    """Output channels of a ResNet stage (its last block's last batch norm)."""
    norms = [m for m in stage[-1].modules() if isinstance(m, nn.BatchNorm2d)]
    downsample = getattr(stage[-1], "downsample", None)
    if downsample is not None:
        norms = [m for m in norms if m not in set(downsample.modules())]
    return int(norms[-1].num_features)


def dilate_last_stage(trunk: nn.Module) -> None:
    """Output stride 16: the last stage's first block keeps its resolution, with dilation 2.

    Changes only strides, dilations and paddings (no weights), as the reference does.
    """
    block = trunk.layer4[0]
    conv = block.conv2 if isinstance(block, Bottleneck) else block.conv1
    conv.stride, conv.dilation, conv.padding = (1, 1), (2, 2), (2, 2)
    if block.downsample is not None:
        block.downsample[0].stride = (1, 1)


def _kaiming_init(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class DeepLabDecoder(nn.Module):
    """The DeepLabv3+ decoder: ASPP output and low-level features -> class logits (stride 4)."""

    def __init__(self, low_level_channels: int, num_classes: int) -> None:
        """Build the decoder for ``low_level_channels`` stride-4 features and ``num_classes``."""
        super().__init__()
        self.project = nn.Sequential(
            nn.Conv2d(low_level_channels, LOW_LEVEL_CHANNELS, 1, bias=False),
            nn.BatchNorm2d(LOW_LEVEL_CHANNELS),
            nn.ReLU(),
        )
        self.fuse = nn.Sequential(
            nn.Conv2d(ASPP_CHANNELS + LOW_LEVEL_CHANNELS, 256, 3, padding=1, bias=False),
            nn.BatchNorm2d(256),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Conv2d(256, 256, 3, padding=1, bias=False),
            nn.BatchNorm2d(256),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.Conv2d(256, num_classes, 1),
        )

    def forward(self, features: torch.Tensor, low_level: torch.Tensor) -> torch.Tensor:
        """Logits at the low-level features' resolution."""
        low = self.project(low_level)
        up = F.interpolate(features, size=low.shape[-2:], mode="bilinear", align_corners=True)
        return self.fuse(torch.cat([up, low], dim=1))


class SegmentationModel(BandStatistics, nn.Module):
    """DeepLabv3+ with the input normalisation built in: pixels -> logits ``[B, K, H, W]``.

    Inputs are float pixels divided by the model file's ``normalization["scale"]``
    (8-bit RGB in [0, 1]), as for :class:`~backend.models.classifier.SceneClassifier`.
    """

    # SceneClassifier's first parameters and their meaning, in its order, on purpose:
    # classifier_type_from_metadata builds either kind from a model file's metadata
    def __init__(
        self,
        arch: str = "resnet18",
        num_classes: int = 6,
        in_channels: int = 3,
        mean: Sequence[float] | float | None = None,
        std: Sequence[float] | float | None = None,
        family: str = "native",
        trunk_from: SceneClassifier | None = None,
        widths: Widths | None = None,
    ) -> None:
        """Build the model.

        Args:
            arch: Trunk architecture (``"resnet18"`` or ``"resnet50"``).
            num_classes: Output classes.
            in_channels: Input bands.
            mean: Per-band (or single) mean of the scaled inputs (default: ImageNet's for RGB).
            std: Per-band (or single) standard deviation of the scaled inputs.
            family: Trunk family, ``native`` or ``reference``.
            trunk_from: A classifier whose trunk (weights included), architecture,
                family and statistics are taken over (``arch``, ``in_channels``,
                ``mean``, ``std`` and ``family`` are then ignored).
            widths: For a ``reference`` trunk: its stem and stage widths.
        """
        super().__init__()
        if num_classes < 2:
            raise ValueError(f"a segmentation model needs at least 2 classes, got {num_classes}")
        base = trunk_from or SceneClassifier(
            arch, 1, in_channels, mean, std, family=family, widths=widths
        )
        self.arch = base.arch
        self.family = base.family
        self.widths = base.widths
        self.num_classes = num_classes
        self.in_channels = base.in_channels
        self._mean_list, self._std_list = base.mean_values, base.std_values
        self.register_buffer("mean", base.mean.clone(), persistent=False)
        self.register_buffer("std", base.std.clone(), persistent=False)
        self.trunk = base.trunk
        dilate_last_stage(self.trunk)
        self.feature_dim = base.feature_dim
        self.aspp = ASPP(self.feature_dim, list(ASPP_RATES), ASPP_CHANNELS)
        self.decoder = DeepLabDecoder(_stage_channels(self.trunk.layer1), num_classes)
        _kaiming_init(self.aspp)
        _kaiming_init(self.decoder)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits ``[B, K, H, W]`` of scaled pixels ``[B, C, H, W]``."""
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected input [B, {self.in_channels}, H, W], got {list(x.shape)}")
        size = x.shape[-2:]
        t = self.trunk
        x = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        low = t.layer1(t.maxpool(t.relu(t.bn1(t.conv1(x)))))
        features = self.aspp(t.layer4(t.layer3(t.layer2(low))))
        logits = self.decoder(features, low)
        return F.interpolate(logits, size=size, mode="bilinear", align_corners=False)


def segmentation_metadata(
    model: SegmentationModel,
    class_names: Sequence[str],
    class_colors: Sequence[str],
    tile_px: int,
    bands: Sequence[int] = (1, 2, 3),
    scale: float = 255.0,
    resolution_m: float | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> ModelMetadata:
    """The model-file metadata of ``model`` (kind ``segmentation``; mean/std from the model).

    The fields are a classifier's (:func:`~backend.models.classifier.classifier_metadata`)
    but for the kind.
    """
    metadata = classifier_metadata(
        model, class_names, class_colors, bands, tile_px, scale, resolution_m, provenance
    )
    return dataclasses.replace(metadata, kind=KIND)


def save_segmentation_model(
    path: str | os.PathLike, model: SegmentationModel, metadata: ModelMetadata
) -> None:
    """Write a segmentation model file (weights + metadata), atomically.

    Raises:
        ValueError: ``metadata`` does not describe ``model``.
    """
    trunk = None
    if metadata.image_arch != model.arch or metadata.family != model.family:
        trunk = f"trunk {metadata.family}/{metadata.image_arch} (model: {model.arch})"
    problems = classifier_type_problems(metadata, model, KIND, trunk)
    if problems:
        raise ValueError(f"metadata does not match the segmentation model: {'; '.join(problems)}")
    save_model_file(path, model.state_dict(), metadata)


def load_segmentation_model(
    path: str | os.PathLike, device: str | torch.device = "cpu"
) -> tuple[SegmentationModel, ModelMetadata]:
    """Load a segmentation model file into a model in eval mode (never unpickles).

    Raises:
        FileNotFoundError: The file does not exist.
        ModelFileError: Not a model file, not a segmentation model, or the weights do not fit.
    """

    return load_classifier_type(
        path,
        device,
        KIND,
        functools.partial(classifier_type_from_metadata, SegmentationModel),
        {},
        default_wrong_kind=(
            "a {kind} model, not a segmentation model (train one with "
            "python -m backend transfer --task segmentation)"
        ),
        min_classes=2,
        description="DeepLabv3+",
    )

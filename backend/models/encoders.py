"""ResNet image and audio encoders that map aerial tiles and log-mel spectrograms to one embedding space."""

from __future__ import annotations

import os
import pickle
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

#: ImageNet statistics, applied inside the image encoder to inputs scaled to [0, 1].
IMAGE_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGE_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)
#: Statistics for log-mel spectrograms scaled to [0, 1].
AUDIO_MEAN: float = 0.5
AUDIO_STD: float = 0.25

#: Supported trunk architectures and their pooled feature sizes.
RESNET_FEATURES: dict[str, int] = {"resnet18": 512, "resnet50": 2048}


def _resnet_constructor(arch: str):
    if arch not in RESNET_FEATURES:
        raise ValueError(
            f"unsupported architecture {arch!r}: expected one of {sorted(RESNET_FEATURES)}"
        )
    return getattr(torchvision.models, arch)


def _list_preview(names: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def torch_load_tensors(path: Path, error: type[Exception], what: str) -> Any:
    """``torch.load`` of ``path`` onto the CPU that never runs pickled code (``weights_only``).

    Raises:
        error: The file holds Python objects (refused), or is not ``what`` (named so).
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise error(
            f"{path}: refused to load: the file contains Python objects, not only tensors "
            "(weights_only=True)"
        ) from exc
    except Exception as exc:
        raise error(f"{path}: not a {what} ({exc})") from exc


def read_state_dict_file(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a tensor state dict from ``.safetensors`` or, without unpickling code, ``.pt``/``.pth``.

    Args:
        path: The weights file.

    Returns:
        The state dict on the CPU.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: The file is not a state dict of tensors (or holds Python objects).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: weights file not found")
    if path.suffix.lower() == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path), device="cpu")
        except Exception as exc:  # safetensors raises its own error type
            raise ValueError(f"{path}: not a readable .safetensors weights file ({exc})") from exc
    loaded = torch_load_tensors(path, ValueError, "PyTorch weights file")
    for key in ("state_dict", "model"):
        if isinstance(loaded, Mapping) and isinstance(loaded.get(key), Mapping):
            loaded = loaded[key]
    if not isinstance(loaded, Mapping):
        raise ValueError(
            f"{path}: expected a state dict (name -> tensor), got {type(loaded).__name__}"
        )
    bad = [str(k) for k, v in loaded.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise ValueError(
            f"{path}: expected only tensors in the state dict, not: {_list_preview(bad)}"
        )
    return {str(k).removeprefix("module."): v for k, v in loaded.items()}


def _adapt_first_conv(weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    # RGB-pretrained filters applied to other band counts: average over the RGB
    # filters and rescale so the activation magnitude stays about the same.
    mean = weight.mean(dim=1, keepdim=True)
    return mean.repeat(1, in_channels, 1, 1) * (weight.shape[1] / in_channels)


def build_resnet_trunk(
    arch: str, in_channels: int = 3, weights_path: str | os.PathLike | None = None
) -> tuple[nn.Module, int]:
    """Build a torchvision ResNet without its classifier, producing pooled features.

    Nothing is downloaded: the network starts random unless ``weights_path`` names a
    torchvision ResNet state dict (e.g. the ImageNet weights saved beforehand).

    Args:
        arch: ``"resnet18"`` or ``"resnet50"``.
        in_channels: Input channels; for anything other than 3 the first convolution is
            replaced (and pretrained RGB filters, if given, are averaged into it).
        weights_path: Optional ``.pth``/``.pt`` (read with ``weights_only=True``) or
            ``.safetensors`` state dict; ``fc.*`` entries are ignored.

    Returns:
        The trunk (``[B, C, H, W] -> [B, F]``) and its feature size ``F``.

    Raises:
        ValueError: Unknown architecture, or the weights do not match it.
        FileNotFoundError: ``weights_path`` does not exist.
    """
    if in_channels < 1:
        raise ValueError(f"in_channels must be at least 1, got {in_channels}")
    trunk = _resnet_constructor(arch)(weights=None)
    feature_dim = RESNET_FEATURES[arch]
    trunk.fc = nn.Identity()
    if in_channels != 3:
        trunk.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    if weights_path is not None:
        state = {
            k: v for k, v in read_state_dict_file(weights_path).items() if not k.startswith("fc.")
        }
        conv1 = state.get("conv1.weight")
        if conv1 is not None and conv1.ndim == 4 and conv1.shape[1] != in_channels:
            state["conv1.weight"] = _adapt_first_conv(conv1, in_channels)
        expected = trunk.state_dict()
        missing = sorted(set(expected) - set(state))
        unexpected = sorted(set(state) - set(expected))
        wrong_shape = sorted(
            k for k in set(state) & set(expected) if state[k].shape != expected[k].shape
        )
        problems = []
        if missing:
            problems.append(f"missing keys: {_list_preview(missing)}")
        if unexpected:
            problems.append(f"unexpected keys: {_list_preview(unexpected)}")
        if wrong_shape:
            problems.append(f"keys with the wrong shape: {_list_preview(wrong_shape)}")
        if problems:
            raise ValueError(
                f"{weights_path}: not a torchvision {arch} state dict ({'; '.join(problems)})"
            )
        trunk.load_state_dict(state, strict=True)
    return trunk, feature_dim


def standardize_tiles(
    x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, bands: int
) -> torch.Tensor:
    """Tiles ``[B, C, H, W]`` in [0, 1] (uint8 is divided by 255) minus ``mean``, over ``std``.

    ``mean`` and ``std`` are ``[1, C, 1, 1]`` (or ``[1, 1, 1, 1]``) buffers; the image
    encoders of both families apply their inputs' statistics with it.

    Raises:
        ValueError: Not ``[B, bands, H, W]``.
    """
    if x.ndim != 4 or x.shape[1] != bands:
        raise ValueError(f"expected input [B, {bands}, H, W], got {list(x.shape)}")
    if not x.is_floating_point():
        x = x.float() / 255.0
    return (x - mean.to(x.dtype)) / std.to(x.dtype)


class Encoder(nn.Module):
    """A ResNet trunk plus a projection head, with the input normalisation built in.

    ``forward`` returns L2-normalised embeddings; ``features`` returns the pooled trunk
    features (for linear probes and fine-tuning).
    """

    def __init__(
        self,
        arch: str = "resnet18",
        in_channels: int = 3,
        embed_dim: int = 128,
        mean: Sequence[float] | float = IMAGE_MEAN,
        std: Sequence[float] | float = IMAGE_STD,
        weights_path: str | os.PathLike | None = None,
    ) -> None:
        """Build the encoder.

        Args:
            arch: Trunk architecture (``"resnet18"`` or ``"resnet50"``).
            in_channels: Input channels (3 for RGB tiles, 1 for spectrograms).
            embed_dim: Size of the output embedding.
            mean: Per-channel (or single) mean of inputs in [0, 1].
            std: Per-channel (or single) standard deviation of inputs in [0, 1].
            weights_path: Optional pretrained trunk weights (see ``build_resnet_trunk``).
        """
        super().__init__()
        self.arch = arch
        self.in_channels = in_channels
        self.embed_dim = embed_dim
        self.trunk, self.feature_dim = build_resnet_trunk(arch, in_channels, weights_path)
        self.head = nn.Sequential(
            nn.Linear(self.feature_dim, self.feature_dim),
            nn.ReLU(inplace=True),
            nn.Linear(self.feature_dim, embed_dim),
        )
        mean_t = torch.as_tensor(mean, dtype=torch.float32).flatten()
        std_t = torch.as_tensor(std, dtype=torch.float32).flatten()
        for name, value in (("mean", mean_t), ("std", std_t)):
            if value.numel() not in (1, in_channels):
                raise ValueError(f"{name} needs 1 or {in_channels} values, got {value.numel()}")
        if (std_t <= 0).any():
            raise ValueError(f"std must be positive, got {std_t.tolist()}")
        # Not persistent: the statistics are part of the architecture, described in the
        # model file's metadata, and not weights.
        self.register_buffer("mean", mean_t.view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", std_t.view(1, -1, 1, 1), persistent=False)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Scale uint8 input to [0, 1] and apply the fixed mean/std normalisation."""
        return standardize_tiles(x, self.mean, self.std, self.in_channels)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled trunk features ``[B, F]`` of inputs ``[B, C, H, W]`` in [0, 1]."""
        return self.trunk(self.normalize(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """L2-normalised embeddings ``[B, embed_dim]`` of inputs ``[B, C, H, W]`` in [0, 1]."""
        return F.normalize(self.head(self.features(x)), dim=1)


class AudiovisualModel(nn.Module):
    """The paper's two-branch model: aerial image encoder and spectrogram encoder."""

    def __init__(
        self,
        image_arch: str = "resnet18",
        audio_arch: str = "resnet18",
        embed_dim: int = 128,
        image_weights: str | os.PathLike | None = None,
    ) -> None:
        """Build both encoders.

        Args:
            image_arch: Image trunk architecture.
            audio_arch: Audio trunk architecture.
            embed_dim: Shared embedding size.
            image_weights: Optional pretrained (e.g. ImageNet) weights for the image trunk.
        """
        super().__init__()
        self.image_arch = image_arch
        self.audio_arch = audio_arch
        self.embed_dim = embed_dim
        self.image_encoder = Encoder(
            image_arch, 3, embed_dim, IMAGE_MEAN, IMAGE_STD, weights_path=image_weights
        )
        self.audio_encoder = Encoder(audio_arch, 1, embed_dim, AUDIO_MEAN, AUDIO_STD)

    def encode_image(self, x: torch.Tensor) -> torch.Tensor:
        """Embed RGB tiles ``[B, 3, H, W]`` in [0, 1] (uint8 is scaled)."""
        return self.image_encoder(x)

    def encode_audio(self, x: torch.Tensor) -> torch.Tensor:
        """Embed log-mel spectrograms ``[B, 1, 128, T]`` in [0, 1]."""
        return self.audio_encoder(x)

    def forward(
        self, images: torch.Tensor, audio: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Embed a batch of pairs; returns ``(z_img, z_audio)``, both L2-normalised."""
        return self.encode_image(images), self.encode_audio(audio)


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameter values in ``module`` (optionally only those requiring grad)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def flops_per_sample(arch: str, image_px: int, in_channels: int = 3) -> int:
    """Forward floating-point operations of one ``image_px`` square input through a trunk.

    Counted by ``torch.utils.flop_counter`` on the meta device (nothing is computed);
    a multiply-add counts as two operations.
    """
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        trunk, _ = build_resnet_trunk(arch, in_channels)
        x = torch.empty(1, in_channels, image_px, image_px)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        trunk(x)
    return int(counter.get_total_flops())

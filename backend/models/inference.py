"""Inference-only forms of a ResNet trunk: batch norm folded into the convolutions, and int8.

Both work on the two trunk families a classifier can have (torchvision's ResNet
and :class:`backend.models.reference.ReferenceResNet`: a stem convolution, batch
norm, ReLU and max-pool, four stages of ``BasicBlock`` or ``Bottleneck`` blocks,
the mean over the last feature map). Nothing is traced: the folded trunk is
built module by module in milliseconds, so a small raster never pays a
tracing or freezing cost.

The int8 trunk is built from a folded one and the value ranges of its
activations on calibration tiles (:meth:`FoldedTrunk.forward` with
``ranges``): per-channel symmetric int8 weights, per-tensor uint8 activations,
fp32 biases, run by PyTorch's quantized CPU kernels (FBGEMM or oneDNN). It
changes the outputs a little; callers check it against fp32 on their own tiles.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.resnet import BasicBlock, Bottleneck

#: quantized CPU engines this module can pack weights for, in order of preference
INT8_ENGINES = ("x86", "fbgemm", "onednn")


class UnsupportedTrunk(TypeError):
    """The trunk is not a ResNet of a known layout (nothing to fold or quantize)."""


class FoldedConv(nn.Module):
    """A convolution with batch norm folded in: ``bn(conv(x))`` of eval mode as one convolution."""

    def __init__(self, conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
        """Fold ``bn`` into a copy of ``conv`` (no new weights are initialised)."""
        super().__init__()
        scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
        bias = bn.bias.detach() - bn.running_mean * scale
        if conv.bias is not None:
            bias = bias + conv.bias.detach() * scale
        self.register_buffer("weight", conv.weight.detach() * scale.view(-1, 1, 1, 1))
        self.register_buffer("bias", bias)
        self.stride, self.padding = conv.stride, conv.padding
        self.dilation, self.groups = conv.dilation, conv.groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The folded convolution."""
        return F.conv2d(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )


def _fold(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> FoldedConv:
    return FoldedConv(conv, bn)


class FoldedBlock(nn.Module):
    """A residual block with its batch norms folded: ``relu(convs(x) + shortcut(x))``."""

    def __init__(self, block: nn.Module) -> None:
        """Fold a torchvision ``BasicBlock`` or ``Bottleneck``."""
        super().__init__()
        pairs = [(block.conv1, block.bn1), (block.conv2, block.bn2)]
        if isinstance(block, Bottleneck):
            pairs.append((block.conv3, block.bn3))
        self.convs = nn.ModuleList(_fold(c, b) for c, b in pairs)
        self.shortcut: FoldedConv | None = None
        if block.downsample is not None:
            conv, bn = block.downsample[0], block.downsample[1]
            self.shortcut = _fold(conv, bn)

    def forward(self, x: torch.Tensor, ranges: dict | None = None, name: str = "") -> torch.Tensor:
        """The block's output; with ``ranges``, record each activation's min and max."""
        out = x
        last = len(self.convs) - 1
        for i, conv in enumerate(self.convs):
            out = conv(out)
            if i < last:
                out = F.relu(out)
            _observe(ranges, f"{name}.conv{i}", out)
        identity = x
        if self.shortcut is not None:
            identity = self.shortcut(x)
            _observe(ranges, f"{name}.shortcut", identity)
        out = F.relu(out + identity)
        _observe(ranges, f"{name}.out", out)
        return out


def _observe(ranges: dict | None, name: str, x: torch.Tensor) -> None:
    if ranges is None:
        return
    low, high = float(x.min()), float(x.max())
    if name in ranges:
        old_low, old_high = ranges[name]
        low, high = min(low, old_low), max(high, old_high)
    ranges[name] = (low, high)


class FoldedTrunk(nn.Module):
    """A ResNet trunk with every batch norm folded into its convolution (eval mode only).

    Gives the same pooled features ``[B, F]`` as the trunk it was made from, up
    to float rounding.
    """

    def __init__(self, trunk: nn.Module) -> None:
        """Fold ``trunk`` (a torchvision ResNet or a ReferenceResNet, without output layer).

        Raises:
            UnsupportedTrunk: Another kind of network.
        """
        super().__init__()
        check_trunk(trunk)
        self.stem = _fold(trunk.conv1, trunk.bn1)
        pool = trunk.maxpool
        self.pool = (pool.kernel_size, pool.stride, pool.padding)
        self.blocks = nn.ModuleList(
            FoldedBlock(block)
            for stage in (trunk.layer1, trunk.layer2, trunk.layer3, trunk.layer4)
            for block in stage
        )
        self.eval()

    def forward(self, x: torch.Tensor, ranges: dict | None = None) -> torch.Tensor:
        """Pooled features; with ``ranges`` (a dict), record activation ranges for int8."""
        _observe(ranges, "input", x)
        x = F.relu(self.stem(x))
        _observe(ranges, "stem", x)
        x = F.max_pool2d(x, *self.pool)
        for i, block in enumerate(self.blocks):
            x = block(x, ranges, f"block{i}")
        return x.mean(dim=(2, 3))


def check_trunk(trunk: nn.Module) -> None:
    """Raise :class:`UnsupportedTrunk` unless ``trunk`` is a ResNet this module can fold.

    A ReferenceResNet with an output convolution (an audiovisual encoder) is not a
    classifier's trunk and is refused too.
    """
    from torchvision.models.resnet import ResNet

    from backend.models.reference import ReferenceResNet

    if not isinstance(trunk, (ResNet, ReferenceResNet)):
        raise UnsupportedTrunk(f"cannot fold a {type(trunk).__name__}: not a ResNet trunk")
    if isinstance(trunk, ResNet) and not isinstance(trunk.fc, nn.Identity):
        raise UnsupportedTrunk("cannot fold a torchvision ResNet with its classifier layer")
    if isinstance(trunk, ReferenceResNet) and hasattr(trunk, "fc"):
        raise UnsupportedTrunk("cannot fold a reference ResNet with its output convolution")
    if not isinstance(trunk.bn1, nn.BatchNorm2d):
        raise UnsupportedTrunk(f"cannot fold {type(trunk.bn1).__name__} (batch norm expected)")
    for stage in (trunk.layer1, trunk.layer2, trunk.layer3, trunk.layer4):
        for block in stage:
            if not isinstance(block, (BasicBlock, Bottleneck)):
                raise UnsupportedTrunk(f"cannot fold a {type(block).__name__} block")


def supports_folding(trunk: nn.Module) -> bool:
    """Whether :class:`FoldedTrunk` can be made from ``trunk``."""
    try:
        check_trunk(trunk)
    except UnsupportedTrunk:
        return False
    return True


# ----------------------------------------------------------------------------- int8


def int8_engine() -> str | None:
    """The quantized CPU engine to use here (None when PyTorch has none)."""
    supported = torch.backends.quantized.supported_engines
    return next((e for e in INT8_ENGINES if e in supported), None)


@contextlib.contextmanager
def _engine(name: str) -> Iterator[None]:
    previous = torch.backends.quantized.engine
    torch.backends.quantized.engine = name
    try:
        yield
    finally:
        torch.backends.quantized.engine = previous


def _activation_qparams(low: float, high: float, levels: int) -> tuple[float, int]:
    """uint8 scale and zero point covering ``[low, high]`` (and 0) with ``levels`` steps."""
    low, high = min(low, 0.0), max(high, 0.0)
    scale = max((high - low) / (levels - 1), 1e-8)
    zero_point = int(min(levels - 1, max(0, round(-low / scale))))
    return float(scale), zero_point


def _quantize_weight(weight: torch.Tensor) -> torch.Tensor:
    """Per-output-channel symmetric int8 weights."""
    peak = weight.detach().abs().amax(dim=(1, 2, 3)).clamp_min(1e-8)
    scales = (peak / 127.0).double()
    zeros = torch.zeros(weight.shape[0], dtype=torch.long)
    return torch.quantize_per_channel(weight.detach().float(), scales, zeros, 0, torch.qint8)


class _Int8Conv:
    """One packed int8 convolution with its output's scale and zero point."""

    def __init__(self, conv: FoldedConv, qparams: tuple[float, int], relu: bool) -> None:
        self.packed = torch.ops.quantized.conv2d_prepack(
            _quantize_weight(conv.weight),
            conv.bias.detach().float(),
            list(conv.stride),
            list(conv.padding),
            list(conv.dilation),
            conv.groups,
        )
        self.scale, self.zero_point = qparams
        self.op = torch.ops.quantized.conv2d_relu if relu else torch.ops.quantized.conv2d

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x, self.packed, self.scale, self.zero_point)


class Int8Trunk(nn.Module):
    """An int8 copy of a :class:`FoldedTrunk`, calibrated on recorded activation ranges.

    Takes and returns float tensors like the trunk it replaces (inputs are
    quantized on the way in, the last feature map is dequantized before the mean).
    """

    def __init__(
        self,
        folded: FoldedTrunk,
        ranges: dict,
        engine: str | None = None,
    ) -> None:
        """Quantize ``folded`` with the activation ``ranges`` it recorded.

        Args:
            folded: The fp32 trunk.
            ranges: ``{name: (min, max)}`` from :meth:`FoldedTrunk.forward`.
            engine: Quantized engine (default: :func:`int8_engine`).

        Raises:
            RuntimeError: PyTorch has no quantized CPU engine here.
            KeyError: ``ranges`` lacks an activation (not recorded on this trunk).
        """
        super().__init__()
        engine = engine or int8_engine()
        if engine is None:
            raise RuntimeError("this PyTorch has no quantized CPU engine (FBGEMM or oneDNN)")
        self.engine = engine
        # FBGEMM on CPUs without VNNI multiplies uint8 by int8 pairwise into int16, which
        # saturates with full-range activations: 7-bit activations avoid it (as PyTorch's
        # own x86/FBGEMM defaults do); oneDNN compensates by itself
        levels = 128 if engine in ("x86", "fbgemm") else 256
        params = {name: _activation_qparams(lo, hi, levels) for name, (lo, hi) in ranges.items()}
        self.input_qparams = params["input"]
        self.pool = folded.pool

        with _engine(engine):
            self.stem = _Int8Conv(folded.stem, params["stem"], relu=True)
            self.blocks = []
            for i, block in enumerate(folded.blocks):
                last = len(block.convs) - 1
                convs = [
                    _Int8Conv(conv, params[f"block{i}.conv{k}"], relu=k < last)
                    for k, conv in enumerate(block.convs)
                ]
                shortcut = None
                if block.shortcut is not None:
                    shortcut = _Int8Conv(block.shortcut, params[f"block{i}.shortcut"], False)
                self.blocks.append((convs, shortcut, params[f"block{i}.out"]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features ``[B, F]`` (float32) of float inputs ``[B, C, H, W]``."""
        scale, zero_point = self.input_qparams
        q = torch.quantize_per_tensor(x.float(), scale, zero_point, torch.quint8)
        q = F.max_pool2d(self.stem(q), *self.pool)
        for convs, shortcut, (out_scale, out_zero) in self.blocks:
            out = q
            for conv in convs:
                out = conv(out)
            identity = shortcut(q) if shortcut is not None else q
            q = torch.ops.quantized.add_relu(out, identity, out_scale, out_zero)
        return q.dequantize().mean(dim=(2, 3))


class _Observing(nn.Module):
    """A folded trunk that records activation ranges into ``ranges`` as it runs."""

    def __init__(self, folded: FoldedTrunk, ranges: dict) -> None:
        super().__init__()
        self.folded = folded
        self.ranges = ranges

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.folded(x, self.ranges)


def observing(folded: FoldedTrunk, ranges: dict) -> nn.Module:
    """``folded`` as a plain trunk (``x -> features``) that records ranges into ``ranges``."""
    return _Observing(folded, ranges)


def with_trunk(model: nn.Module, trunk: nn.Module) -> nn.Module:
    """A shallow copy of ``model`` whose ``trunk`` is ``trunk`` (``model`` is unchanged)."""
    import copy

    copied = copy.copy(model)
    copied._modules = dict(model._modules)
    copied.trunk = trunk
    return copied

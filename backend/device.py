"""Device and precision choice: which torch device runs, and which autocast precision pays.

Training, evaluation, transfer and the raster engine all ask here, so the
answer is the same everywhere and none of them imports another to get it.

``auto`` picks CUDA, then Apple's Metal (MPS), then the CPU. On MPS, operators
PyTorch has no Metal kernel for run on the CPU when ``PYTORCH_ENABLE_MPS_FALLBACK=1``
was set before torch was imported (``backend/__init__.py`` sets it on macOS).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

#: oneDNN ISA limits (``ONEDNN_MAX_CPU_ISA``) under which bf16 matrix instructions run
#: natively; below these (AVX2, AVX512_CORE, ...) bf16 is emulated and slower than fp32
_BF16_ISAS = frozenset(
    {
        "AVX512_CORE_BF16",
        "AVX512_CORE_FP16",
        "AVX512_CORE_AMX",
        "AVX512_CORE_AMX_FP16",
        "AVX10_1_512",
        "AVX10_1_512_AMX",
        "AVX10_1_512_AMX_FP16",
        "AVX10_2_512",
        "AVX10_2_512_AMX_2",
        "ALL",
        "DEFAULT",
    }
)


class DeviceError(ValueError):
    """A device was asked for that this machine does not have."""


def mps_available() -> bool:
    """True when this PyTorch was built with Metal (MPS) support and a Metal GPU is usable."""
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_built() and backend.is_available())


def resolve_device(device: str) -> torch.device:
    """``auto`` → CUDA when available, else Apple's MPS, else CPU; otherwise the named device.

    Raises:
        DeviceError: CUDA or MPS asked for but not available.
    """
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if mps_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError(f"--device {device}: CUDA is not available on this machine")
    if device.startswith("mps") and not mps_available():
        raise DeviceError(
            f"--device {device}: Apple's Metal (MPS) is not available "
            "(it needs an Apple Silicon Mac and a PyTorch built with MPS)"
        )
    return torch.device(device)


def onednn_isa_allows_bf16() -> bool:
    """False when ``ONEDNN_MAX_CPU_ISA`` (or the older ``DNNL_MAX_CPU_ISA``) caps oneDNN
    below the bf16 instruction sets, as a laptop with AVX2 only would be."""
    limit = os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA")
    return not limit or limit.strip().upper() in _BF16_ISAS


def cpu_supports_bf16() -> bool:
    """True when the CPU has native bf16 matrix instructions (AVX512-BF16 or AMX)
    and oneDNN is allowed to use them."""
    if not onednn_isa_allows_bf16():
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast precision for a setting (``auto|bf16|fp32``) on ``device``; None: fp32.

    ``auto``: bf16 on CUDA and on CPUs with native bf16, fp16 on MPS (where this
    PyTorch has autocast for it), fp32 everywhere else.
    """
    if precision == "bf16":
        return torch.bfloat16
    if precision == "fp32":
        return None
    if device.type == "cuda" or (device.type == "cpu" and cpu_supports_bf16()):
        return torch.bfloat16
    if device.type == "mps" and torch.amp.is_autocast_available("mps"):
        return torch.float16
    return None


def use_bf16(precision: str, device: torch.device) -> bool:
    """Whether to autocast to bf16 for this precision setting (``auto|bf16|fp32``) and device."""
    return autocast_dtype(precision, device) == torch.bfloat16


def autocast(device: torch.device, dtype: torch.dtype | None):
    """The autocast context for ``dtype`` from :func:`autocast_dtype` (disabled for None)."""
    return torch.autocast(device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None)


def grad_scaler(device: torch.device, dtype: torch.dtype | None) -> torch.amp.GradScaler:
    """Loss scaling for fp16 training (its gradients underflow without it); a no-op otherwise.

    Disabled, ``scale(loss)`` is ``loss`` and ``step(optimizer)`` is ``optimizer.step()``.
    """
    return torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)


def fused_optimizer(device: torch.device) -> dict[str, bool]:
    """Keyword arguments for Adam/AdamW by default: the unfused (multi-tensor) step.

    The fused (one kernel) step halves the optimizer's time on CPUs, under 1 % of a
    training step (bench/results/pretrain.json), but a run killed and resumed from
    its checkpoint then no longer ends with the uninterrupted run's weights bit for
    bit (measured on torch 2.9.1, CPU); the default keeps resumes exact.
    ``PretrainConfig.fused_optimizer=True`` (or ``fused=True`` when fine-tuning)
    asks for it.
    """
    del device  # the same rule on every device
    return {}

"""Device and precision choice: which torch device runs, and whether bf16 autocast pays.

Training, evaluation, transfer and the raster engine all ask here, so the
answer is the same everywhere and none of them imports another to get it.
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


def resolve_device(device: str) -> torch.device:
    """``auto`` → CUDA when available, else CPU; otherwise the named device.

    Raises:
        DeviceError: CUDA asked for but not available.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError(f"--device {device}: CUDA is not available on this machine")
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


def use_bf16(precision: str, device: torch.device) -> bool:
    """Whether to autocast to bf16 for this precision setting (``auto|bf16|fp32``) and device."""
    if precision == "bf16":
        return True
    if precision == "fp32":
        return False
    return device.type == "cuda" or (device.type == "cpu" and cpu_supports_bf16())

"""Device and precision choice, including a oneDNN limited to AVX2 as on a typical laptop."""

from __future__ import annotations

import pytest
import torch

from backend.device import DeviceError, cpu_supports_bf16, resolve_device, use_bf16


def test_auto_is_cpu_without_cuda_and_cuda_is_refused_by_name() -> None:
    if torch.cuda.is_available():
        assert resolve_device("auto").type == "cuda"
        return
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(DeviceError, match="--device cuda: CUDA is not available"):
        resolve_device("cuda")


@pytest.mark.parametrize("isa", ["AVX2", "avx512_core", "SSE41"])
def test_onednn_capped_below_bf16_falls_back_to_fp32(monkeypatch, isa: str) -> None:
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", isa)
    assert not cpu_supports_bf16()
    assert not use_bf16("auto", torch.device("cpu"))
    assert use_bf16("bf16", torch.device("cpu"))  # asked for by name: the user's choice


def test_bf16_isa_limit_leaves_the_cpu_flags_in_charge(monkeypatch) -> None:
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)
    native = cpu_supports_bf16()
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_AMX")
    assert cpu_supports_bf16() == native
    assert not use_bf16("fp32", torch.device("cpu"))

"""Device and precision choice, including a oneDNN limited to AVX2 as on a typical laptop."""

from __future__ import annotations

import pytest
import torch

from backend.device import (
    DeviceError,
    autocast_dtype,
    cpu_supports_bf16,
    grad_scaler,
    mps_available,
    resolve_device,
    use_bf16,
)


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


# --- Apple Silicon (MPS): no Mac runs these tests, so torch's MPS backend is mocked ---------


def _mps(monkeypatch, built: bool, available: bool, cuda: bool = False) -> None:
    monkeypatch.setattr(torch.backends.mps, "is_built", lambda: built)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: available)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)


def test_auto_picks_mps_on_an_apple_silicon_mac(monkeypatch) -> None:
    _mps(monkeypatch, built=True, available=True)
    assert resolve_device("auto") == torch.device("mps")
    assert resolve_device("mps") == torch.device("mps")
    assert resolve_device("cpu") == torch.device("cpu")  # named: the user's choice


def test_cuda_comes_before_mps(monkeypatch) -> None:
    _mps(monkeypatch, built=True, available=True, cuda=True)
    assert resolve_device("auto") == torch.device("cuda")


@pytest.mark.parametrize(("built", "available"), [(False, False), (True, False)])
def test_without_mps_auto_is_the_cpu_and_mps_is_refused_by_name(
    monkeypatch, built: bool, available: bool
) -> None:
    _mps(monkeypatch, built=built, available=available)
    assert not mps_available()
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(DeviceError, match="--device mps: Apple's Metal"):
        resolve_device("mps")


def test_mps_autocasts_to_fp16_with_loss_scaling(monkeypatch) -> None:
    mps = torch.device("mps")
    monkeypatch.setattr(torch.amp, "is_autocast_available", lambda kind: kind == "mps")
    assert autocast_dtype("auto", mps) == torch.float16
    assert autocast_dtype("fp32", mps) is None
    assert autocast_dtype("bf16", mps) == torch.bfloat16
    assert not use_bf16("auto", mps)
    # fp16 gradients underflow: training on MPS scales the loss; other precisions do not
    assert grad_scaler(torch.device("cpu"), torch.float16).is_enabled()
    assert not grad_scaler(torch.device("cpu"), torch.bfloat16).is_enabled()
    assert not grad_scaler(torch.device("cpu"), None).is_enabled()
    # a PyTorch without MPS autocast trains in fp32 there
    monkeypatch.setattr(torch.amp, "is_autocast_available", lambda kind: False)
    assert autocast_dtype("auto", mps) is None


def test_mps_fallback_is_set_before_torch_on_macos() -> None:
    import subprocess
    import sys

    # a fresh interpreter that believes it runs on macOS imports the backend, then torch
    code = (
        "import os, sys; sys.platform = 'darwin'; os.environ.pop('PYTORCH_ENABLE_MPS_FALLBACK', None)\n"
        "assert 'torch' not in sys.modules\n"
        "import backend\n"
        "assert 'torch' not in sys.modules\n"
        "print(os.environ['PYTORCH_ENABLE_MPS_FALLBACK'])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"


def test_disabled_grad_scaler_leaves_the_step_as_it_was() -> None:
    torch.manual_seed(0)
    layers = [torch.nn.Linear(4, 2) for _ in range(2)]
    layers[1].load_state_dict(layers[0].state_dict())
    x = torch.randn(8, 4)
    plain = torch.optim.Adam(layers[0].parameters(), lr=0.1)
    scaled = torch.optim.Adam(layers[1].parameters(), lr=0.1)
    scaler = grad_scaler(torch.device("cpu"), autocast_dtype("fp32", torch.device("cpu")))
    layers[0](x).square().mean().backward()
    plain.step()
    scaler.scale(layers[1](x).square().mean()).backward()
    scaler.step(scaled)
    scaler.update()
    assert torch.equal(layers[0].weight, layers[1].weight)

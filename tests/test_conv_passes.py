"""The convolution-pass figures of the pretraining benchmark (bench/conv_passes.py)."""

from __future__ import annotations

import pytest
import torch

from bench.conv_passes import _verbose_step, measure_model, parse_verbose

pytestmark = pytest.mark.skipif(
    not torch.backends.mkldnn.is_available(), reason="PyTorch without oneDNN"
)


def test_one_convolutions_three_passes_and_their_work_come_from_onednns_own_log() -> None:
    conv = torch.nn.Conv2d(8, 16, 3, padding=1, bias=False)
    x = torch.rand(4, 8, 20, 20, requires_grad=True)

    def step() -> None:
        conv(x).sum().backward()

    step()
    passes = parse_verbose(_verbose_step(step))
    work = 2 * 4 * 8 * 16 * 20 * 20 * 3 * 3 / 1e9
    for name in ("forward", "backward_data", "backward_weights"):
        assert passes[name]["calls"] == 1, passes
        assert passes[name]["gflop"] == pytest.approx(work)
        assert passes[name]["ms"] > 0 and passes[name]["gflop_per_s"] > 0
    # the log went to a file, not to this process's output, and stops with the step
    assert parse_verbose(_verbose_step(lambda: None)) == {}


def test_lines_that_are_not_executions_or_not_convolutions_count_apart() -> None:
    log = "\n".join(
        [
            "onednn_verbose,v1,info,oneDNN v3.7.1",
            "onednn_verbose,v1,primitive,create:cache_miss,cpu,convolution,jit:avx2,"
            "forward_training,src:f32,,alg:convolution_direct,mb2_ic3oc4_ih8oh8kh3sh1dh0ph1"
            "_iw8ow8kw3sw1dw0pw1,0.5",
            "onednn_verbose,v1,primitive,exec,cpu,reorder,jit:uni,undef,src:f32 dst:f32,,,"
            "4x3x3x3,0.25",
            "onednn_verbose,v1,primitive,exec,cpu,convolution,jit:avx2,backward_weights,"
            "src:f32,,alg:convolution_direct,mb2_ic3oc4_ih8oh8kh3sh1dh0ph1_iw8ow8kw3sw1dw0pw1,2.0",
        ]
    )
    passes = parse_verbose(log)
    assert passes["other"] == {"ms": 0.25, "gflop": 0.0, "calls": 1}
    weights = passes["backward_weights"]
    assert weights["gflop"] == pytest.approx(2 * 2 * 3 * 4 * 8 * 8 * 9 / 1e9)
    assert weights["gflop_per_s"] == pytest.approx(weights["gflop"] / 2.0 * 1e3)
    assert "forward" not in passes


def test_a_models_step_gives_a_ceiling_at_or_above_one() -> None:
    torch.manual_seed(0)
    model = _TwoConvs()
    figures = measure_model(model, torch.contiguous_format, batch=2, image_px=32, window=16)
    assert 0 < figures["convolution_share"] <= 1.5
    assert figures["ceiling_if_weight_gradient_ran_at_forward_rate"] > 0
    assert set(figures["passes"]) >= {"forward", "backward_data", "backward_weights"}


class _TwoConvs(torch.nn.Module):
    """An image and a sound branch, each two convolutions deep (so one has an input
    gradient to compute)."""

    def __init__(self) -> None:
        super().__init__()
        self.image = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.Conv2d(8, 8, 3, padding=1)
        )
        self.sound = torch.nn.Sequential(
            torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.Conv2d(8, 8, 3, padding=1)
        )

    def forward(self, images: torch.Tensor, audio: torch.Tensor):
        return self.image(images).mean((2, 3)), self.sound(audio).mean((2, 3))

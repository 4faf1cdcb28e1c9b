"""Where a pretraining step's time goes: the rate of each convolution pass, as oneDNN times it.

A training step of two ResNet-18s is mostly convolutions, and each convolution
runs three passes: forward, backward to the input (``backward_data``) and
backward to the weights (``backward_weights``). This module runs one step of
each side's encoders (ours: channels_last; the reference recipe's: NCHW, as it
trains) on a batch in memory, fp32, with oneDNN's verbose log on, and sums
oneDNN's own time and the floating-point work of every primitive it ran, per
pass. With the step's wall time (measured without the log) and the process's
best fp32 matrix product, that says how close each pass is to what the CPU
does, and what the step would gain if its slowest pass ran as fast as its
fastest one: ``ceiling_if_weight_gradient_ran_at_forward_rate``, an upper bound
on what a better weight-gradient kernel could give without changing the
computation.

It is a child measurement of :mod:`bench.pretrain_bench` (``--child passes``),
run under each ISA setting.
"""

from __future__ import annotations

import os
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

from bench.common import matmul_peak_gflops

#: batch and input sizes of the measured step (the pretraining defaults)
BATCH = 32
IMAGE_PX = 192
WINDOW = 128
#: untimed steps before the measured ones, and the timed ones
WARMUP_STEPS = 2
TIMED_STEPS = 3
_PROBLEM = re.compile(r"(mb|ic|oc|oh|ow|kh|kw)(\d+)")
_PASSES = {
    "forward_training": "forward",
    "backward_data": "backward_data",
    "backward_weights": "backward_weights",
}


def parse_verbose(log: str) -> dict[str, dict[str, float]]:
    """Per pass, oneDNN's milliseconds and GFLOP from its verbose log's ``exec`` lines.

    A line: ``onednn_verbose,v1,primitive,exec,cpu,convolution,IMPL,PROP,...,PROBLEM,MS``;
    the work of a convolution is ``2 * mb * ic * oc * oh * ow * kh * kw`` (groups of 1).
    Every other primitive (reorders, mostly) is summed under ``other``.
    """
    passes: dict[str, dict[str, float]] = {}
    for line in log.splitlines():
        if not line.startswith("onednn_verbose") or ",exec," not in line:
            continue
        fields = line.split(",")
        try:
            ms = float(fields[-1])
        except ValueError:
            continue
        kind = _PASSES.get(fields[7]) if fields[5] == "convolution" else None
        row = passes.setdefault(kind or "other", {"ms": 0.0, "gflop": 0.0, "calls": 0})
        row["ms"] += ms
        row["calls"] += 1
        if kind:
            size = {k: int(v) for k, v in _PROBLEM.findall(fields[-2])}
            size.setdefault("mb", 1)
            work = 2 * size["mb"] * size["ic"] * size["oc"] * size["oh"] * size["ow"]
            row["gflop"] += work * size["kh"] * size["kw"] / 1e9
    for row in passes.values():
        if row["gflop"]:
            row["gflop_per_s"] = row["gflop"] / row["ms"] * 1e3
    return passes


def _verbose_step(step: Callable[[], None]) -> str:
    """oneDNN's verbose log of one ``step()`` (it writes to the process's standard output)."""
    import torch

    with tempfile.TemporaryFile(mode="w+") as log:
        saved = os.dup(1)
        try:
            os.dup2(log.fileno(), 1)
            with torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
                step()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        log.seek(0)
        return log.read()


def _timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _models() -> dict[str, tuple[Any, Any]]:
    """Name -> (model, memory format) of the two sides, as each trains."""
    import torch

    from backend.models.encoders import AudiovisualModel
    from bench.reference_recipe import RecipeModel

    torch.manual_seed(0)
    return {
        "ours": (AudiovisualModel("resnet18", "resnet18", 128), torch.channels_last),
        "reference": (RecipeModel("resnet18", "resnet18"), torch.contiguous_format),
    }


def measure_model(
    model: Any,
    memory_format: Any,
    batch: int = BATCH,
    image_px: int = IMAGE_PX,
    window: int = WINDOW,
) -> dict[str, Any]:
    """One side's step: wall time, the passes, and the ceiling of a faster weight gradient.

    ``model(images, audio)`` returns the two embeddings; images are ``[batch, 3,
    image_px, image_px]``, spectrogram windows ``[batch, 1, window, window]``.
    """
    import torch

    model = model.to(memory_format=memory_format).train()
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(batch, 3, image_px, image_px, generator=generator)
    audio = torch.rand(batch, 1, window, window, generator=generator)
    images = images.contiguous(memory_format=memory_format)
    audio = audio.contiguous(memory_format=memory_format)

    def step() -> None:
        z_image, z_audio = model(images, audio)
        model.zero_grad(set_to_none=True)
        (z_image.square().mean() + z_audio.square().mean()).backward()

    for _ in range(WARMUP_STEPS):
        step()
    step_s = statistics.median(_timed(step) for _ in range(TIMED_STEPS))
    passes = parse_verbose(_verbose_step(step))
    figures: dict[str, Any] = {"step_s": step_s, "passes": passes}
    forward, weights = passes.get("forward"), passes.get("backward_weights")
    if forward and weights and forward.get("gflop_per_s"):
        conv_s = sum(row["ms"] for name, row in passes.items() if name != "other") / 1e3
        faster_s = step_s - weights["ms"] / 1e3 + weights["gflop"] / forward["gflop_per_s"]
        figures["convolution_share"] = conv_s / step_s
        figures["ceiling_if_weight_gradient_ran_at_forward_rate"] = step_s / faster_s
    return figures


def measure() -> dict[str, Any]:
    """Both sides' passes and this process's matrix product rate (fp32, CPU)."""
    import torch

    figures: dict[str, Any] = {
        "what": "one fp32 step (forward, loss, backward; no optimizer) of each side's "
        f"encoders on a batch of {BATCH} in memory ({IMAGE_PX} px images, "
        f"{WINDOW}x{WINDOW} spectrogram windows); per convolution pass oneDNN's own time "
        "and the work it did; step_s without the log, median of "
        f"{TIMED_STEPS}",
        "threads": torch.get_num_threads(),
        "matmul_gflop_per_s": matmul_peak_gflops("float32", n=2048),
    }
    for name, (model, memory_format) in _models().items():
        figures[name] = measure_model(model, memory_format)
    return figures

"""Running a model on batches of raster tiles as fast as the device allows.

On CPUs the model is traced and frozen once (batch-norm folded into the
convolutions, channels_last), and on CPUs with native bf16 (AMX, AVX512-BF16)
it can run in bf16. ``auto`` precision uses bf16 only after checking, on the
first batch, that it agrees with fp32 (bench/raster_bench.py measures both).
"""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from backend.device import cpu_supports_bf16
from backend.radiometry import prescale

log = logging.getLogger(__name__)

#: precision settings
PRECISIONS = ("auto", "fp32", "bf16")
#: tiles per run from which tracing and freezing the model pays off (it takes about as
#: long as three batches of 32 ResNet-18 tiles on two cores)
FREEZE_MIN_TILES = 96

#: tiles of the first batch that ``auto`` runs in both precisions to check bf16
CHECK_TILES = 16

#: compares fp32 and bf16 outputs of the same tiles: True when bf16 is good enough
AgreementCheck = Callable[[np.ndarray, np.ndarray], bool]


def argmax_agreement(fp32: np.ndarray, bf16: np.ndarray) -> float:
    """Share of rows whose largest output is the same."""
    return float((fp32.argmax(axis=1) == bf16.argmax(axis=1)).mean())


def classes_agree(fp32: np.ndarray, bf16: np.ndarray) -> bool:
    """bf16 check for classifiers: at least 90 % of the tiles get the same class.

    It catches a model that bf16 breaks; the one tile in a few hundred whose two
    best classes are nearly tied (and may swap) must not fail it.
    """
    return argmax_agreement(fp32, bf16) >= 0.9


def min_cosine(fp32: np.ndarray, bf16: np.ndarray) -> float:
    """The smallest cosine similarity between corresponding rows."""
    a = fp32 / np.maximum(np.linalg.norm(fp32, axis=1, keepdims=True), 1e-12)
    b = bf16 / np.maximum(np.linalg.norm(bf16, axis=1, keepdims=True), 1e-12)
    return float((a * b).sum(axis=1).min())


def embeddings_agree(fp32: np.ndarray, bf16: np.ndarray) -> bool:
    """bf16 check for embeddings: every tile's embedding within cosine 0.99 of fp32's."""
    return min_cosine(fp32, bf16) >= 0.99


def prepare_model(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """Eval mode, on ``device``, channels_last (the fast layout for convolutions on CPU and GPU)."""
    model = model.to(device).eval()
    return model.to(memory_format=torch.channels_last)


class TilePredictor:
    """Turns a batch of raster tiles ``[B, T, T, C]`` into model outputs ``[B, K]``.

    Pixels are scaled as the model file's normalisation says
    (:func:`backend.radiometry.prescale`) and fed as float ``[B, C, T, T]`` in
    channels_last layout under ``inference_mode``.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        normalization: Mapping[str, Any] | float,
        device: torch.device | str = "cpu",
        precision: str = "auto",
        freeze: bool = True,
        agree: AgreementCheck | None = None,
    ) -> None:
        """Wrap ``model``.

        Args:
            model: float ``[B, C, T, T]`` (scaled pixels) → ``[B, K]``.
            normalization: The model file's ``normalization`` (robust or legacy), or a
                plain pixel divisor.
            device: Where to run.
            precision: ``"fp32"``; ``"bf16"`` (autocast on CUDA, bf16 weights on CPU);
                ``"auto"``: bf16 on CUDA, and for frozen runs on CPUs with native bf16
                when the first batch passes ``agree``; fp32 otherwise.
            freeze: On CPU, trace and freeze the model at the first batch.
            agree: The bf16 check of ``"auto"`` (default: :func:`embeddings_agree`).
        """
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        self.device = torch.device(device)
        self.model = prepare_model(model, self.device)
        if isinstance(normalization, Mapping):
            self.normalization = dict(normalization)
        else:
            self.normalization = {"scale": float(normalization)}
        self.freeze = freeze and self.device.type == "cpu"
        self.agree = agree or embeddings_agree
        if precision == "auto":
            # on CPUs bf16 pays off with a frozen graph (large runs); a short run stays fp32
            on_cpu = self.device.type == "cpu" and self.freeze and cpu_supports_bf16()
            self.bf16 = self.device.type == "cuda" or on_cpu
            self._verify = on_cpu
        else:
            self.bf16 = precision == "bf16"
            self._verify = False
        self._run: Callable[[torch.Tensor], torch.Tensor] | None = None
        #: what the first-batch check found (None when not run)
        self.agreement: bool | None = None

    @property
    def precision(self) -> str:
        """The precision in use: ``"bf16"`` or ``"fp32"``."""
        return "bf16" if self.bf16 else "fp32"

    def _input(self, pixels: np.ndarray) -> torch.Tensor:
        return prescale(pixels, self.normalization, self.device)

    def _build(self, x: torch.Tensor, bf16: bool) -> Callable[[torch.Tensor], torch.Tensor]:
        """The callable for this device and precision (frozen TorchScript on CPU)."""
        if self.device.type != "cpu":
            if not bf16:
                return self.model

            def autocast(x: torch.Tensor) -> torch.Tensor:
                with torch.autocast(self.device.type, dtype=torch.bfloat16):
                    return self.model(x)

            return autocast
        module = self.model
        if bf16:
            module = copy.deepcopy(self.model).to(torch.bfloat16)
        if not self.freeze:
            if bf16:
                return lambda x: module(x.to(torch.bfloat16))
            return module
        # a two-tile example traces the same graph as a full batch, in a fraction of the time
        example = x[:2].to(torch.bfloat16) if bf16 else x[:2]
        with warnings.catch_warnings():
            # shape checks inside the model become constants of the trace: intended
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            frozen = torch.jit.freeze(torch.jit.trace(module, example, check_trace=False))
        if bf16:
            return lambda x: frozen(x.to(torch.bfloat16))
        return frozen

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        """``[B, T, T, C]`` pixels → float32 ``[B, K]``."""
        with torch.inference_mode():
            x = self._input(pixels)
            if self._run is None:
                self._run = self._build(x, self.bf16)
                if self._verify:
                    fp32 = self.model(x[:CHECK_TILES]).float().cpu().numpy()
                    bf16 = self._run(x).float().cpu().numpy()
                    self.agreement = bool(self.agree(fp32, bf16[:CHECK_TILES]))
                    if not self.agreement:
                        log.warning("bf16 results differ from fp32 for this model: using fp32")
                        self.bf16 = False
                        self._run = self._build(x, False)
                        return self._run(x).float().cpu().numpy()
                    return bf16
            return self._run(x).float().cpu().numpy()

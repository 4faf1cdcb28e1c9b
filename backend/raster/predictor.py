"""Running a model on batches of raster tiles as fast as the device allows.

On CPUs the model's batch norms are folded into its convolutions (by hand, in
milliseconds: :mod:`backend.models.inference`), and a large run traces and
freezes it once. On CPUs with native bf16 (AMX, AVX512-BF16) ``auto`` runs
large runs in bf16 after checking, on the first batch, that it agrees with fp32.
On CPUs without native bf16 (most laptops), ``auto`` runs a large classification
in int8: calibrated on the raster's own first tiles (whose fp32 outputs are
kept), and used only when at least 99 % of those tiles get the same class as in
fp32, otherwise fp32. bench/raster_bench.py measures every path.
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
from backend.models.classifier import SceneClassifier
from backend.models.inference import (
    FoldedTrunk,
    Int8Trunk,
    int8_engine,
    observing,
    supports_folding,
    with_trunk,
)
from backend.radiometry import prescale

log = logging.getLogger(__name__)

#: precision settings
PRECISIONS = ("auto", "fp32", "bf16", "int8")
#: tiles per run from which tracing and freezing the model pays off (it takes about as
#: long as three batches of 32 ResNet-18 tiles on two cores)
FREEZE_MIN_TILES = 96

#: tiles of the first batch that ``auto`` runs in both precisions to check bf16
CHECK_TILES = 16
#: share of the calibration tiles that must get the same class in int8 as in fp32
INT8_MIN_AGREEMENT = 0.99
#: tiles per run from which ``auto`` tries int8: calibrating (the first batch in fp32, the
#: int8 build, the check) costs a few seconds on two AVX2 cores, which only a run of some
#: hundreds of tiles earns back (and loses, when the check rejects int8)
INT8_MIN_TILES = 512

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
    channels_last layout under ``inference_mode``. :attr:`choice` says which
    precision runs and why (logged at the first batch).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        normalization: Mapping[str, Any] | float,
        device: torch.device | str = "cpu",
        precision: str = "auto",
        freeze: bool = True,
        agree: AgreementCheck | None = None,
        allow_int8: bool = False,
        tiles: int | None = None,
    ) -> None:
        """Wrap ``model``.

        Args:
            model: float ``[B, C, T, T]`` (scaled pixels) → ``[B, K]``.
            normalization: The model file's ``normalization`` (robust or legacy), or a
                plain pixel divisor.
            device: Where to run.
            precision: ``"fp32"``; ``"bf16"`` (autocast on CUDA, bf16 weights on CPU);
                ``"int8"`` (CPU, classifiers with a ResNet trunk: calibrated on the first
                batch); ``"auto"``: bf16 on CUDA, and for frozen runs on CPUs with native
                bf16 when the first batch passes ``agree``; for frozen runs on other CPUs
                int8 when ``allow_int8`` and the first batch's classes agree with fp32
                (:data:`INT8_MIN_AGREEMENT`); fp32 otherwise.
            freeze: On CPU, trace and freeze the model at the first batch (a large run).
            agree: The bf16 check of ``"auto"`` (default: :func:`embeddings_agree`).
            allow_int8: The model is a classifier whose classes may be computed in int8.
            tiles: Tiles of the run, when known: ``auto`` tries int8 only from
                :data:`INT8_MIN_TILES` on.

        Raises:
            ValueError: Unknown precision, or int8 asked for where it cannot run.
        """
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        self.device = torch.device(device)
        # channels_last (a copy of every weight) waits for the first batch: a run handed
        # to another engine never pays for it
        self.model = model.to(self.device).eval()
        self._prepared = False
        if isinstance(normalization, Mapping):
            self.normalization = dict(normalization)
        else:
            self.normalization = {"scale": float(normalization)}
        on_cpu = self.device.type == "cpu"
        self.freeze = freeze and on_cpu
        self.agree = agree or embeddings_agree
        # only a classifier's trunk is called as a whole (a segmentation model reads its stages)
        foldable = (
            on_cpu
            and isinstance(self.model, SceneClassifier)
            and supports_folding(self.model.trunk)
        )
        self.foldable = foldable
        int8_possible = foldable and allow_int8 and int8_engine() is not None
        self.int8 = False
        self.int8_forced = False
        self._verify = False
        if precision == "int8":
            if not int8_possible:
                raise ValueError(
                    "precision int8 runs on the CPU, for classifiers with a ResNet trunk, "
                    "with PyTorch's quantized engine (FBGEMM or oneDNN): not available here"
                )
            self.bf16, self.int8, self.int8_forced = False, True, True
            self.choice = "int8 (asked for)"
        elif precision == "auto":
            native_bf16 = on_cpu and cpu_supports_bf16()
            if self.device.type == "cuda":
                self.bf16 = True
                self.choice = "bf16 autocast on CUDA"
            elif on_cpu and self.freeze and native_bf16:
                # on CPUs bf16 pays off with a frozen graph (large runs); a short run stays fp32
                self.bf16, self._verify = True, True
                self.choice = "bf16: the CPU has native bf16 instructions and the run is large"
            elif on_cpu and self.freeze and int8_possible and (tiles or 0) >= INT8_MIN_TILES:
                self.bf16, self.int8 = False, True
                self.choice = (
                    "int8: the CPU has no native bf16 instructions (or oneDNN is capped below "
                    "them) and the run is large enough for calibrating on its first tiles to pay"
                )
            else:
                self.bf16 = False
                reason = "a short run" if on_cpu and not self.freeze else "no faster precision"
                if on_cpu and self.freeze and not int8_possible:
                    reason = "int8 does not apply to this model here"
                elif on_cpu and self.freeze:
                    reason = (
                        f"fewer than {INT8_MIN_TILES} tiles, too few for int8 calibration to pay"
                    )
                self.choice = f"fp32: {reason}"
        else:
            self.bf16 = precision == "bf16"
            self.choice = f"{precision} (asked for)"
        self._run: Callable[[torch.Tensor], torch.Tensor] | None = None
        #: what the first-batch bf16 check found (None when not run)
        self.agreement: bool | None = None
        #: share of the calibration tiles with the same class in int8 and fp32 (None: no int8)
        self.int8_agreement: float | None = None
        #: tiles int8 was calibrated on
        self.calibration_tiles = 0
        #: when int8 fails its check, leave the fp32 model unbuilt until the next batch
        #: (the caller may hand the run to another engine instead)
        self.defer_fallback = False

    @property
    def precision(self) -> str:
        """The precision in use: ``"bf16"``, ``"int8"`` or ``"fp32"``."""
        if self.int8:
            return "int8"
        return "bf16" if self.bf16 else "fp32"

    def _input(self, pixels: np.ndarray) -> torch.Tensor:
        return prescale(pixels, self.normalization, self.device)

    def _folded_model(self) -> torch.nn.Module:
        return with_trunk(self.model, FoldedTrunk(self.model.trunk))

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
            # batch norms folded by hand: no tracing, so a short run pays no set-up
            return self._folded_model() if self.foldable else module
        # a two-tile example traces the same graph as a full batch, in a fraction of the time
        example = x[:2].to(torch.bfloat16) if bf16 else x[:2]
        with warnings.catch_warnings():
            # shape checks inside the model become constants of the trace: intended
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            frozen = torch.jit.freeze(torch.jit.trace(module, example, check_trace=False))
        if bf16:
            return lambda x: frozen(x.to(torch.bfloat16))
        return frozen

    def _calibrate_int8(self, x: torch.Tensor) -> np.ndarray:
        """Run the first batch in fp32 while recording activation ranges, build the int8
        model, and keep it when its classes agree with fp32's on this batch."""
        folded = FoldedTrunk(self.model.trunk)
        ranges: dict = {}
        fp32 = with_trunk(self.model, observing(folded, ranges))(x).float().cpu().numpy()
        quantized = with_trunk(self.model, Int8Trunk(folded, ranges))
        int8 = quantized(x).float().cpu().numpy()
        self.calibration_tiles = len(x)
        self.int8_agreement = argmax_agreement(fp32, int8)
        share = f"{100 * self.int8_agreement:.1f} %"
        if self.int8_agreement >= INT8_MIN_AGREEMENT or self.int8_forced:
            if self.int8_agreement < INT8_MIN_AGREEMENT:
                log.warning(
                    "int8 gives the fp32 class on only %s of %d calibration tiles; "
                    "kept because int8 was asked for",
                    share,
                    len(x),
                )
            self._run = quantized
            self.choice += f"; calibrated on {len(x)} tiles, class agreement with fp32 {share}"
        else:
            log.warning(
                "int8 gives the fp32 class on only %s of the %d calibration tiles (at least "
                "%.0f %% needed): using fp32",
                share,
                len(x),
                100 * INT8_MIN_AGREEMENT,
            )
            self.choice = (
                f"fp32: int8 class agreement with fp32 on the {len(x)} calibration tiles was "
                f"{share}, below {100 * INT8_MIN_AGREEMENT:.0f} %"
            )
            self.int8 = False
            self._run = None if self.defer_fallback else self._build(x, False)
        return fp32

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        """``[B, T, T, C]`` pixels → float32 ``[B, K]``."""
        if not self._prepared:  # outside inference mode: the weights stay normal tensors
            self.model = prepare_model(self.model, self.device)
            self._prepared = True
        with torch.inference_mode():
            x = self._input(pixels)
            if self._run is None:
                if self.int8:
                    out = self._calibrate_int8(x)
                    log.info("precision %s", self.choice)
                    return out
                self._run = self._build(x, self.bf16)
                if self._verify:
                    fp32 = self.model(x[:CHECK_TILES]).float().cpu().numpy()
                    bf16 = self._run(x).float().cpu().numpy()
                    self.agreement = bool(self.agree(fp32, bf16[:CHECK_TILES]))
                    if not self.agreement:
                        log.warning("bf16 results differ from fp32 for this model: using fp32")
                        self.bf16 = False
                        self.choice = "fp32: bf16 results differed from fp32 on the first batch"
                        self._run = self._build(x, False)
                        log.info("precision %s", self.choice)
                        return self._run(x).float().cpu().numpy()
                    log.info("precision %s", self.choice)
                    return bf16
                log.info("precision %s", self.choice)
            return self._run(x).float().cpu().numpy()

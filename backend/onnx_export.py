"""Export a classifier model file to ONNX, with its metadata, for use outside PyTorch."""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path

import torch
from torch import nn

from backend.atomic import atomic_path
from backend.models.classifier import SceneClassifier, load_classifier
from backend.models.modelfile import ModelMetadata

#: the opset written (supported by ONNX Runtime >= 1.13)
OPSET = 17
INPUT_NAME = "image"
OUTPUT_NAMES = ("logits", "probabilities")
#: how the input is described in the ONNX metadata
INPUT_DESCRIPTION = (
    "float32 [N, C, H, W]: the raster's bands (see 'bands', 1-based, in order) scaled as "
    "'normalization' says: kind 'robust', each band clipped to [low, high] and mapped to "
    "[0, 1]; otherwise divided by scale. The per-band mean/std normalisation happens "
    "inside the model. "
    "Trained on tiles of tile_px pixels at resolution_m metres per pixel."
)

# ModelProto.metadata_props is field 14; StringStringEntryProto has key = 1, value = 2
_METADATA_PROPS_FIELD = 14


class _ClassifierWithProbabilities(nn.Module):
    def __init__(self, model: SceneClassifier) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.model(x)
        return logits, torch.softmax(logits, dim=1)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _length_delimited(field_number: int, payload: bytes) -> bytes:
    return _varint((field_number << 3) | 2) + _varint(len(payload)) + payload


def append_metadata_props(model_bytes: bytes, props: Mapping[str, str]) -> bytes:
    """Add ``metadata_props`` entries to a serialised ONNX ``ModelProto``.

    Protocol buffers merge repeated fields appended to a message, so the entries
    are encoded by hand and appended: no ``onnx`` package is needed.
    """
    extra = bytearray()
    for key, value in props.items():
        entry = _length_delimited(1, str(key).encode()) + _length_delimited(2, str(value).encode())
        extra += _length_delimited(_METADATA_PROPS_FIELD, entry)
    return model_bytes + bytes(extra)


@contextlib.contextmanager
def _without_onnx_package() -> Iterator[None]:
    """Let torch's TorchScript exporter run when the ``onnx`` package is not installed.

    After serialising, the exporter imports ``onnx`` only to splice in onnxscript
    custom functions; a ResNet has none, so that step is skipped when the package
    is missing. With ``onnx`` installed nothing changes.
    """
    try:
        importlib.import_module("onnx")
        yield
        return
    except ImportError:
        pass
    module = None
    for name in (
        "torch.onnx._internal.torchscript_exporter.onnx_proto_utils",  # torch >= 2.9
        "torch.onnx._internal.onnx_proto_utils",  # older
    ):
        try:
            module = importlib.import_module(name)
            break
        except ImportError:
            continue
    if module is None or not hasattr(module, "_add_onnxscript_fn"):
        yield
        return
    original = module._add_onnxscript_fn

    def keep_as_is(model_bytes: bytes, custom_opsets: Mapping[str, int]) -> bytes:
        if custom_opsets:
            return original(model_bytes, custom_opsets)
        return model_bytes

    module._add_onnxscript_fn = keep_as_is
    try:
        yield
    finally:
        module._add_onnxscript_fn = original


def onnx_metadata(metadata: ModelMetadata) -> dict[str, str]:
    """The ONNX metadata props: the model file's header plus an input description."""
    props = dict(metadata.to_header())
    props["input_description"] = INPUT_DESCRIPTION
    props["input_name"] = INPUT_NAME
    props["output_names"] = json.dumps(list(OUTPUT_NAMES))
    return props


def export_onnx(
    model_path: str | os.PathLike, out_path: str | os.PathLike, opset: int = OPSET
) -> dict[str, str]:
    """Export a classifier model file to an ONNX file, atomically.

    The graph takes ``image`` (float32 ``[N, C, H, W]``, pixels scaled as
    ``backend.radiometry.prescale`` does; batch and size are dynamic) and returns ``logits`` and
    ``probabilities`` (``[N, classes]``). Class names, colours, bands,
    normalisation, tile size and ground resolution are in the ONNX metadata
    (ONNX Runtime: ``session.get_modelmeta().custom_metadata_map``).

    Args:
        model_path: A classifier ``.safetensors`` model file.
        out_path: The ``.onnx`` file to write.
        opset: ONNX opset version.

    Returns:
        The metadata props written.

    Raises:
        FileNotFoundError: The model file does not exist.
        ModelFileError: It is not a classifier model file.
    """
    model, metadata = load_classifier(model_path, device="cpu")
    wrapper = _ClassifierWithProbabilities(model).eval()
    example = torch.zeros(1, len(metadata.bands), metadata.tile_px, metadata.tile_px)
    buffer = io.BytesIO()
    with _without_onnx_package(), torch.no_grad(), warnings.catch_warnings():
        # the input-shape check in SceneClassifier.normalize is traced as a constant: fine
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        # the TorchScript exporter is chosen on purpose: the dynamo one needs onnxscript
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx")
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export")
        torch.onnx.export(
            wrapper,
            (example,),
            buffer,
            dynamo=False,
            input_names=[INPUT_NAME],
            output_names=list(OUTPUT_NAMES),
            dynamic_axes={
                INPUT_NAME: {0: "batch", 2: "height", 3: "width"},
                **{name: {0: "batch"} for name in OUTPUT_NAMES},
            },
            opset_version=opset,
            do_constant_folding=True,
        )
    props = onnx_metadata(metadata)
    data = append_metadata_props(buffer.getvalue(), props)
    with atomic_path(out_path) as tmp:
        Path(tmp).write_bytes(data)
    return props

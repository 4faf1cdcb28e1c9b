"""Training checkpoints as safetensors: weights, optimizer, scheduler and RNG state, no pickle.

Tensors go in the safetensors body; the structure around them (optimizer
param groups, scheduler counters, epoch, config) goes in the string metadata
header as JSON. Loading therefore never unpickles, even for resuming.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from backend.atomic import atomic_path

CHECKPOINT_PATTERN = re.compile(r"^epoch-(\d{4})\.safetensors$")


def checkpoint_path(folder: Path, epoch: int) -> Path:
    """The checkpoint file written at the end of ``epoch`` (1-based)."""
    return folder / f"epoch-{epoch:04d}.safetensors"


def latest_checkpoint(folder: Path) -> Path | None:
    """The newest complete checkpoint in ``folder`` (partial files never match the pattern)."""
    if not folder.is_dir():
        return None
    found = sorted(
        (int(m.group(1)), p) for p in folder.iterdir() if (m := CHECKPOINT_PATTERN.match(p.name))
    )
    return found[-1][1] if found else None


def prune_checkpoints(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` complete checkpoints (``keep`` 0: keep all)."""
    if keep <= 0 or not folder.is_dir():
        return []
    found = sorted(
        (int(m.group(1)), p) for p in folder.iterdir() if (m := CHECKPOINT_PATTERN.match(p.name))
    )
    removed = [path for _, path in found[:-keep]]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


def _flatten_optimizer(state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for param_id, param_state in state["state"].items():
        for key, value in param_state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.{param_id}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(param_id), {})[key] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], structure: dict) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        _, param_id, key = name.split(".", 2)
        state.setdefault(int(param_id), {})[key] = value
    for param_id, values in structure["scalars"].items():
        state.setdefault(int(param_id), {}).update(values)
    return {"state": state, "param_groups": structure["param_groups"]}


def rng_state() -> dict[str, torch.Tensor]:
    """Python, numpy and torch RNG states as tensors."""
    py_state = random.getstate()
    np_state = np.random.get_state()
    tensors = {
        "rng.torch": torch.get_rng_state(),
        "rng.python": torch.tensor(py_state[1], dtype=torch.int64),
        "rng.numpy": torch.from_numpy(np_state[1].astype(np.int64)),
        "rng.numpy_pos": torch.tensor([np_state[2]], dtype=torch.int64),
    }
    if torch.cuda.is_available():
        for index, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{index}"] = state
    return tensors


def set_rng_state(tensors: dict[str, torch.Tensor]) -> None:
    """Restore what :func:`rng_state` saved."""
    torch.set_rng_state(tensors["rng.torch"])
    random.setstate((3, tuple(int(v) for v in tensors["rng.python"].tolist()), None))
    np.random.set_state(
        (
            "MT19937",
            tensors["rng.numpy"].numpy().astype(np.uint32),
            int(tensors["rng.numpy_pos"][0]),
        )
    )
    cuda = [tensors[k] for k in sorted(t for t in tensors if t.startswith("rng.cuda."))]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)


def save_checkpoint(
    path: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    epoch: int,
    info: dict[str, Any],
) -> None:
    """Write a complete training state atomically (temp file, then rename)."""
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    optimizer_tensors, optimizer_structure = _flatten_optimizer(optimizer.state_dict())
    tensors.update(optimizer_tensors)
    tensors.update(rng_state())
    metadata = {
        "epoch": str(epoch),
        "optimizer": json.dumps(optimizer_structure),
        "scheduler": json.dumps(scheduler.state_dict()),
        "info": json.dumps(info),
    }
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint into {model, optimizer, scheduler, rng, epoch, info}; never unpickles."""
    tensors: dict[str, torch.Tensor] = {}
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
        for key in handle.keys():
            tensors[key] = handle.get_tensor(key)
    if "epoch" not in metadata:
        raise ValueError(f"{path}: not a Sounding Earth training checkpoint (no 'epoch' header)")
    return {
        "model": {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")},
        "optimizer": _unflatten_optimizer(
            {k: v for k, v in tensors.items() if k.startswith("optimizer.")},
            json.loads(metadata["optimizer"]),
        ),
        "scheduler": json.loads(metadata["scheduler"]),
        "rng": {k: v for k, v in tensors.items() if k.startswith("rng.")},
        "epoch": int(metadata["epoch"]),
        "info": json.loads(metadata.get("info", "{}")),
    }

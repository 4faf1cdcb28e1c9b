"""Distributed-training glue: process-group setup from torchrun's environment, gathers with gradient."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistributedContext:
    """Where this process sits in a (possibly single-process) training job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device_type: str) -> DistributedContext:
    """Join the process group torchrun describes (NCCL on GPUs, Gloo on CPUs).

    Returns a single-process context when not started by torchrun.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistributedContext()
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if device_type == "cuda" else "gloo"
        if device_type == "cuda":
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend=backend)
    return DistributedContext(rank=rank, world_size=world_size, local_rank=local_rank)


def gather_with_grad(tensor: torch.Tensor, context: DistributedContext) -> torch.Tensor:
    """Concatenate ``tensor`` from every rank along dim 0, keeping the autograd graph.

    Each rank then computes the loss over the global batch (every rank's
    negatives). All-gather's backward sums the gradients of all ranks' copies,
    and DDP averages parameter gradients, so the update equals the gradient of
    the global-batch loss.
    """
    if not context.enabled:
        return tensor
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(tensor), dim=0)


def all_gather_objects(value, context: DistributedContext) -> list:
    """Every rank's ``value`` (small picklable diagnostics only), in rank order."""
    if not context.enabled:
        return [value]
    gathered = [None] * context.world_size
    dist.all_gather_object(gathered, value)
    return gathered


#: the last barrier of each process group left, kept until the process ends (see cleanup)
_final_barriers: list = []


def cleanup(context: DistributedContext) -> None:
    """Leave the process group: a last barrier, then the group is destroyed.

    The barrier's work is kept until the process ends. Released as usual, Gloo's
    worker thread frees it, and with it the tensors of the collectives still
    running when it was queued (the diagnostics gathered just before); freeing a
    tensor Python has seen takes the GIL. Meanwhile the main thread destroys the
    process group (when DDP's reducer lets go of it), which joins that worker
    thread while holding the GIL, and both wait forever: one run in about a
    hundred hung after saving everything (the worker stuck in
    ``~AsyncBarrierWork``, the main thread in ``~ProcessGroupGloo``'s join).
    Kept here, it is freed by the main thread at exit, when no worker needs it.
    """
    if context.enabled and dist.is_initialized():
        _final_barriers.append(leave_process_group())


def leave_process_group():
    """A barrier on the default group, then destroy it.

    Returns the barrier's completed work, which the caller must keep for as long
    as the group's worker threads may still be running (see :func:`cleanup`).
    """
    work = dist.barrier(async_op=True)
    work.wait()
    dist.destroy_process_group()
    return work

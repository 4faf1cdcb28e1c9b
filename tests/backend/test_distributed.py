"""Leaving a Gloo process group (the two-rank run itself is in test_train.py)."""

from __future__ import annotations

import pytest
import torch.distributed as dist

from backend import distributed
from backend.distributed import DistributedContext, cleanup, leave_process_group


@pytest.fixture
def gloo_group():
    """A one-process Gloo default group (torchrun's two-rank run is too slow to repeat)."""
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    yield
    if dist.is_initialized():
        dist.destroy_process_group()


def test_leaving_returns_the_last_barrier_completed_and_destroys_the_group(gloo_group):
    gathered = [None]
    dist.all_gather_object(gathered, {"rank": 0})  # a collective whose tensors Python saw
    work = leave_process_group()
    assert work.is_completed()
    assert not dist.is_initialized()


def test_cleanup_keeps_the_last_barrier_after_the_group_is_gone(gloo_group, monkeypatch):
    # released by Gloo's worker thread, this work frees tensors under the GIL while the
    # main thread may be joining that thread: kept, the main thread frees it at exit
    kept: list = []
    monkeypatch.setattr(distributed, "_final_barriers", kept)
    # the context says two ranks so that cleanup acts; the group is this process alone
    cleanup(DistributedContext(rank=0, world_size=2))
    assert not dist.is_initialized()
    assert len(kept) == 1 and kept[0].is_completed()


def test_cleanup_outside_a_distributed_run_does_nothing(monkeypatch):
    kept: list = []
    monkeypatch.setattr(distributed, "_final_barriers", kept)
    cleanup(DistributedContext())
    assert kept == [] and not dist.is_initialized()

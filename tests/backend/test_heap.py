"""backend.heap: freed memory kept in the process while training, and given back afterwards."""

from __future__ import annotations

import resource
import sys

import pytest

from backend import heap


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc settings")
def test_retained_heap_reuses_freed_buffers_and_restores_the_defaults() -> None:
    import torch

    def faults_per_allocation() -> float:
        """Page faults per step of a step-like pattern: four 40 MiB buffers, then freed."""
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(6):
            # above glibc's largest mmap threshold (32 MiB): always fresh pages by default
            buffers = [torch.ones(40 * 2**20 // 4) for _ in range(4)]
            del buffers
        return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 6

    def resident_pages() -> int:
        return int(open("/proc/self/statm").read().split()[1])

    pages = 4 * 40 * 2**20 // resource.getpagesize()
    # by default every step maps its buffers anew (fewer faults where huge pages back them)
    default = faults_per_allocation()
    with heap.retained_heap() as active, heap.retained_heap():  # nested is fine
        assert active
        faults_per_allocation()  # the first steps still fault
        assert faults_per_allocation() <= default / 4 + 16  # later ones reuse the pages
        kept = resident_pages()
    assert heap._depth == 0
    # afterwards the process gives the kept memory back
    assert kept - resident_pages() > pages / 2


def test_elsewhere_it_does_nothing(monkeypatch) -> None:
    monkeypatch.setattr(heap.sys, "platform", "darwin")
    with heap.retained_heap() as active:
        assert not active

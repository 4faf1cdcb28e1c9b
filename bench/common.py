"""What every benchmark shares: the machine description, child processes with their peak RSS, result files."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: the repository root (bench/ lives directly under it)
REPO_ROOT = Path(__file__).resolve().parent.parent
#: where the figures are written
RESULTS_DIR = Path(__file__).resolve().parent / "results"
#: scratch space for benchmark data (ignored by git)
SCRATCH_DIR = Path(__file__).resolve().parent / "tmp"

# CPU flags that decide which kernels PyTorch can use
_INTERESTING_FLAGS = (
    "avx2",
    "fma",
    "avx512f",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
)


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo (empty off Linux)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    fields: dict[str, str] = {}
    for line in text.split("\n\n", 1)[0].splitlines():
        name, _, value = line.partition(":")
        fields[name.strip()] = value.strip()
    return fields


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def machine_info() -> dict[str, Any]:
    """CPU model and flags, cores, memory, Python/PyTorch versions and threads, date, load."""
    import torch

    cpu = _cpuinfo()
    flags = set(cpu.get("flags", "").split())
    info: dict[str, Any] = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "cpu_model": cpu.get("model name") or platform.processor() or platform.machine(),
        "cpu_flags": [flag for flag in _INTERESTING_FLAGS if flag in flags],
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gib": _memory_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    return info


def load_average() -> float | None:
    """The one-minute load average (other work on the machine skews timings)."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def cpu_busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot, all cores (Linux only)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    # user nice system idle iowait irq softirq steal ...: everything but idle and iowait
    ticks = [int(v) for v in fields[:8]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def wait_for_idle(max_wait_s: float, busy_cores: float = 0.15, window_s: float = 3.0) -> float:
    """Wait until the machine is about idle (or ``max_wait_s`` passed); return the busy cores seen.

    Other work on the machine slows a multi-threaded training step far more than
    its share of the CPU suggests (threads wait for each other at every
    parallel region), so measurements start on an idle machine where possible.
    """
    deadline = time.monotonic() + max_wait_s
    while True:
        before = cpu_busy_seconds()
        time.sleep(window_s)
        after = cpu_busy_seconds()
        if before is None or after is None:
            return float("nan")
        busy = (after - before) / window_s
        if busy <= busy_cores or time.monotonic() >= deadline:
            return busy


def matmul_peak_gflops(dtype_name: str, n: int = 4096, repeats: int = 5) -> float:
    """Best GFLOP/s of an ``n`` x ``n`` matrix multiply in ``dtype_name`` (this process's threads)."""
    import torch

    dtype = getattr(torch, dtype_name)
    a = torch.randn(n, n).to(dtype)
    b = torch.randn(n, n).to(dtype)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - started)
    return 2 * n**3 / best / 1e9


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB).

    Forked children (DataLoader workers) are not added: they share the parent's
    pages copy-on-write, and the kernel counts those shared pages in every
    process's RSS.
    """
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


@dataclass
class ChildRun:
    """A finished child process: its exit status, wall time, peak RSS and result."""

    returncode: int
    seconds: float
    #: peak RSS from ``wait4``: the largest of the child's own peak, its waited-for
    #: children's, and this process's RSS when it forked the child (Linux counts the
    #: pages before ``exec``), so an upper bound; children report their own peak
    peak_rss_mib: float
    result: dict[str, Any] | None
    log_tail: str
    #: cores kept busy by other processes meanwhile, on average (None off Linux)
    other_busy_cores: float | None = None


def run_child(
    args: list[str],
    result_path: Path,
    log_path: Path,
    timeout_s: float,
    env: dict | None = None,
    unset: tuple[str, ...] = (),
) -> ChildRun:
    """Run ``python args...`` in a fresh process and collect its JSON result and peak RSS.

    The child writes its figures to ``result_path``; stdout and stderr go to
    ``log_path``. Peak RSS comes from ``wait4`` on that child alone, so each
    configuration is measured in a clean process. The child's environment is this
    one's with ``env`` added and the variables named in ``unset`` removed.
    """
    child_env = {k: v for k, v in os.environ.items() if k not in unset}
    child_env.update(env or {})
    result_path.unlink(missing_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    busy_before = cpu_busy_seconds()
    started = time.perf_counter()
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, *args],
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=child_env,
        )
        deadline = started + timeout_s
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.1)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    busy_after = cpu_busy_seconds()
    other = None
    if busy_before is not None and busy_after is not None and seconds > 0:
        own = usage.ru_utime + usage.ru_stime
        other = round(max(0.0, (busy_after - busy_before - own) / seconds), 2)
    result = json.loads(result_path.read_text()) if result_path.is_file() else None
    tail = log_path.read_text(errors="replace")[-2000:] if log_path.is_file() else ""
    peak = round(usage.ru_maxrss / 1024, 1)
    return ChildRun(process.returncode, seconds, peak, result, tail, other)


def write_result(path: Path, payload: dict[str, Any]) -> None:
    """Write a result file (pretty JSON) atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    os.replace(tmp, path)

"""Raster inference: classification throughput and memory, ONNX Runtime as the peer, query latency.

All figures come from one run on this machine, each classification in a fresh
process (so peak RSS is per run):

* ``torch``: :func:`backend.raster.classify.classify_with` on a generated
  8192 x 8192 3-band GeoTIFF (reading, inference and writing the styled class
  raster included), at the default precision (``auto``: bf16 on CPUs with
  AMX/AVX512-BF16 once the first batch agrees with fp32) and at fp32.
* ``onnxruntime``: the same engine, tiles, batch and thread count, with the
  model call replaced by the same model exported to ONNX and run by ONNX
  Runtime (fp32, its CPU provider): the peer.
* the same ``torch`` run on a 2048 x 2048 raster, for peak RSS against raster size.
* GFLOP/s inside the forward pass: the model's FLOPs per tile x batch / median
  full-batch time, against a matrix multiply (4096 x 4096) measured now, in the
  same precision and thread count.
* the median latency of a top-10 query over an index of 100,000 sounds.

The raster is the procedural demo scene (2048 px, mirrored to fill 8192 px) at
0.5 m; the model is a ResNet-18 scene classifier whose head is fitted to that
scene, so bf16 and ONNX Runtime can be checked against fp32 class by class.

Run ``python -m bench --only raster`` or ``python bench/raster_bench.py``;
``--quick`` is a smoke test. Writes bench/results/raster.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.raster.runtime import CACHE_ENV  # noqa: E402
from bench.common import (  # noqa: E402
    RESULTS_DIR,
    SCRATCH_DIR,
    load_average,
    machine_info,
    run_child,
    write_result,
)

ARCH = "resnet18"
TILE = 192
STRIDE = 192
BATCH = 32
RESOLUTION_M = 0.5
SEED = 0
#: AdamW steps of the benchmark's classifier (trained trunk: see train_scene_classifier)
TRAIN_STEPS = 80
INDEX_SIZE = 100_000
INDEX_DIM = 128
QUERIES = 200
#: torch/ONNX Runtime alternations on the big raster: at least MIN_PAIRS, more (up to
#: MAX_PAIRS) while the alternating has taken less than PAIRS_BUDGET_S
MIN_PAIRS = 2
MAX_PAIRS = 4
PAIRS_BUDGET_S = 150.0
#: raster sides (px) of the engine comparison, full run and --quick
SIZES = (512, 2048, 8192)
QUICK_SIZES = (512, 1024)
#: the oneDNN / FBGEMM caps of the "laptop without bf16" runs (ONNX Runtime has none)
AVX2_ENV = {"ONEDNN_MAX_CPU_ISA": "AVX2", "FBGEMM_ENABLE_INSTRUCTIONS": "AVX2"}
#: the comparison's target: default path / ONNX Runtime fp32, end to end, every size
TARGET_OVER_ONNXRUNTIME = 1.3
#: targets checked (and reported) by this benchmark
TARGETS = {
    "torch_over_onnxruntime_end_to_end": 1.0,
    "rss_8192_over_2048": 1.2,
    "forward_share_of_matmul_peak": 0.5,
    "query_median_ms": 20.0,
}


def _scratch() -> Path:
    folder = SCRATCH_DIR / "raster"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# ----------------------------------------------------------------------------- data and model


def write_scene_raster(path: Path, size: int, scene_px: int = 2048) -> Path:
    """A ``size`` x ``size`` RGB GeoTIFF of the demo scene, mirrored to fill it, in strips."""
    import numpy as np
    import rasterio
    from rasterio.enums import ColorInterp
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    from backend.data.demo import SCENE_CRS, SCENE_ORIGIN, render_scene

    if path.is_file():
        return path
    side = min(scene_px, size)
    rgb, _ = render_scene(SEED, side)
    flipped = {
        (fy, fx): rgb[:, :: (-1 if fy else 1), :: (-1 if fx else 1)]
        for fy in (0, 1)
        for fx in (0, 1)
    }
    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": 3,
        "dtype": "uint8",
        "crs": SCENE_CRS,
        "transform": from_origin(*SCENE_ORIGIN, RESOLUTION_M, RESOLUTION_M),
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
        "photometric": "RGB",
    }
    tmp = path.with_name(path.name + ".partial.tif")
    with rasterio.open(tmp, "w", **profile) as dst:
        dst.colorinterp = (ColorInterp.red, ColorInterp.green, ColorInterp.blue)
        for by in range(0, size, side):
            rows = min(side, size - by)
            strip = np.concatenate(
                [
                    flipped[((by // side) % 2, (bx // side) % 2)][:, :rows]
                    for bx in range(0, size, side)
                ],
                axis=2,
            )[:, :, :size]
            dst.write(np.ascontiguousarray(strip), window=Window(0, by, size, rows))
    tmp.replace(path)
    return path


def scene_tile_sampler(seed: int, purity: float):
    """Draws ``(tiles float [n, 3, T, T] in 0..1, classes [n])`` from the demo scene of
    ``seed``: random tiles whose central half is at least ``purity`` one class."""
    import numpy as np
    import torch

    from backend.data.demo import SCENE_CLASSES, render_scene

    rgb, labels = render_scene(seed, 2048)
    rng = np.random.default_rng(seed)

    def sample(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        tiles, targets = [], []
        while len(tiles) < n:
            r, c = rng.integers(0, 2048 - TILE, 2)
            centre = labels[r + TILE // 4 : r + 3 * TILE // 4, c + TILE // 4 : c + 3 * TILE // 4]
            votes = np.bincount(centre.ravel(), minlength=len(SCENE_CLASSES))
            if votes.max() >= purity * centre.size:
                tiles.append(rgb[:, r : r + TILE, c : c + TILE])
                targets.append(int(votes.argmax()))
        return torch.from_numpy(np.stack(tiles)).float() / 255.0, torch.tensor(targets)

    return sample


def _save_scene_classifier(path: Path, model, provenance: dict[str, Any]) -> Path:
    from backend.data.demo import CLASS_COLORS, SCENE_CLASSES
    from backend.models.classifier import classifier_metadata, save_classifier

    metadata = classifier_metadata(
        model,
        list(SCENE_CLASSES),
        [CLASS_COLORS[n] for n in SCENE_CLASSES],
        [1, 2, 3],
        TILE,
        resolution_m=RESOLUTION_M,
        provenance={"command": "bench/raster_bench.py", **provenance},
    )
    save_classifier(path, model, metadata)
    return path


def fit_scene_classifier(
    path: Path, samples: int, arch: str = ARCH, family: str = "native"
) -> Path:
    """A classifier of the demo classes with a ridge-fitted head (random trunk).

    ``family="reference"`` gives the paper's trunk in its final layout (32 stem,
    64/182/256/512 stages), as a classifier fine-tuned from an imported model has.
    """
    import torch

    from backend.data.demo import SCENE_CLASSES
    from backend.models.classifier import SceneClassifier

    if path.is_file():
        return path
    tiles, targets = scene_tile_sampler(SEED, 0.8)(samples)
    torch.manual_seed(SEED)
    model = SceneClassifier(arch, len(SCENE_CLASSES), family=family).eval()
    with torch.inference_mode():
        f = torch.cat([model.features(x).double() for x in tiles.split(32)])
    mean, std = f.mean(0), f.std(0) + 1e-6
    z = torch.cat([(f - mean) / std, torch.ones(len(f), 1, dtype=torch.float64)], 1)
    onehot = torch.nn.functional.one_hot(targets, len(SCENE_CLASSES)).double()
    weights = torch.linalg.solve(z.T @ z + torch.eye(z.shape[1], dtype=torch.float64), z.T @ onehot)
    with torch.no_grad():
        model.head.weight.copy_((weights[:-1] / std[:, None]).T.float())
        model.head.bias.copy_((weights[-1] - (mean / std) @ weights[:-1]).float())
    return _save_scene_classifier(path, model, {"head": "ridge fit on the demo scene"})


def train_scene_classifier(path: Path, steps: int, arch: str = ARCH) -> Path:
    """A classifier of the demo classes trained end to end on the scene (trunk included).

    What a user classifies with is a trained model (fine-tuned, or trained from their
    labels): its classes have margins that a random trunk with a fitted head lacks,
    which decides whether int8 agrees with fp32. ``steps`` of AdamW (1e-3, batch 16,
    tiles whose centre is mostly one class; bf16 autocast where the CPU has it); the
    accuracy on 256 tiles of another scene (seed + 1) goes into the provenance.
    """
    import torch

    from backend.data.demo import SCENE_CLASSES
    from backend.device import cpu_supports_bf16
    from backend.models.classifier import SceneClassifier

    if path.is_file():
        return path
    torch.manual_seed(SEED)
    model = SceneClassifier(arch, len(SCENE_CLASSES))
    optimizer = torch.optim.AdamW(model.parameters(), 1e-3)
    train = scene_tile_sampler(SEED, 0.6)
    bf16 = cpu_supports_bf16()
    for _ in range(steps):
        x, y = train(16)
        with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    x, y = scene_tile_sampler(SEED + 1, 0.6)(256)
    with torch.inference_mode():
        accuracy = float((torch.cat([model(b) for b in x.split(32)]).argmax(1) == y).float().mean())
    print(f"  trained classifier: {steps} steps, accuracy {accuracy:.3f} on another scene")
    return _save_scene_classifier(
        path,
        model,
        {
            "training": f"{steps} AdamW steps of 16 tiles on the demo scene (seed {SEED})",
            "accuracy_other_scene": round(accuracy, 4),
        },
    )


def _allow_export_without_onnx_package() -> None:
    """torch 2.9's TorchScript exporter imports ``onnx`` only to splice in onnxscript
    functions, which a ResNet has none of; the onnx package would pull numpy 2."""
    try:
        import onnx  # noqa: F401
    except ImportError:
        from torch.onnx._internal.torchscript_exporter import onnx_proto_utils

        onnx_proto_utils._add_onnxscript_fn = lambda model_bytes, custom_opsets: model_bytes


def export_onnx(model_path: Path, onnx_path: Path) -> Path:
    """The classifier as ONNX (opset 17, dynamic batch)."""
    import torch

    from backend.models.classifier import load_classifier

    if onnx_path.is_file() and onnx_path.stat().st_mtime >= model_path.stat().st_mtime:
        return onnx_path
    _allow_export_without_onnx_package()
    model, _ = load_classifier(model_path)
    example = torch.rand(2, 3, TILE, TILE)
    tmp = onnx_path.with_name(onnx_path.name + ".partial")
    torch.onnx.export(
        model,
        example,
        str(tmp),
        dynamo=False,
        input_names=["x"],
        output_names=["logits"],
        dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=17,
    )
    tmp.replace(onnx_path)
    return onnx_path


# ----------------------------------------------------------------------------- measurements


def classify_child(
    engine: str,
    raster: Path,
    model: Path,
    onnx_model: Path,
    precision: str,
    out: Path,
    result: Path,
) -> None:
    """One classification run in this (fresh) process; figures to ``result``.

    ``engine``: ``onnxruntime`` is the peer (the benchmark's own ONNX export in ONNX
    Runtime fp32, replacing the model call); ``torch`` runs ``classify_with`` with
    ``--engine auto`` (the default path, which may pick ONNX Runtime itself);
    ``torch-only`` with ``--engine torch``.
    """
    import numpy as np
    import torch

    from backend.models.classifier import load_classifier
    from backend.raster.classify import classify_with

    threads = torch.get_num_threads()
    # an import is process start-up, left out of both sides alike (a QGIS session or a
    # command line imports it once): the peer needs it here, the default path may
    if importlib.util.find_spec("onnxruntime") is not None:
        import onnxruntime  # noqa: F401
    # first result: from here (model file read, engine set up) to the output written
    called = time.perf_counter()
    classifier, metadata = load_classifier(model)
    predict = None
    if engine == "onnxruntime":
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            str(onnx_model), options, providers=["CPUExecutionProvider"]
        )
        scale = np.float32(1.0 / metadata.normalization["scale"])

        def predict(pixels: np.ndarray) -> np.ndarray:
            x = np.ascontiguousarray(pixels.transpose(0, 3, 1, 2), dtype=np.float32) * scale
            return session.run(None, {"x": x})[0]

    started = time.perf_counter()
    outcome = classify_with(
        classifier,
        metadata,
        raster,
        out,
        batch_size=BATCH,
        stride=STRIDE,
        precision=precision,
        engine="torch" if engine == "torch-only" else "auto",
        predict=predict,
        model_name=model.name,
        model_path=model,
    )
    finished = time.perf_counter()
    seconds = finished - started
    stats = outcome.stats
    import rasterio

    with rasterio.open(raster) as src:
        width, height = src.width, src.height
    batches = stats.batch_seconds[1:] or stats.batch_seconds  # the first includes set-up
    figures = {
        "engine": outcome.engine if engine != "onnxruntime" else "onnxruntime",
        "precision": outcome.precision if engine != "onnxruntime" else "fp32",
        "choice": outcome.choice if engine != "onnxruntime" else "the peer: fp32 ONNX export",
        "int8_agreement_calibration": outcome.int8_agreement,
        "threads": threads,
        "raster_px": [width, height],
        "output_px": [outcome.width, outcome.height],
        "tiles": stats.tiles,
        "seconds": seconds,
        "first_result_seconds": finished - called,
        "megapixels_per_s": width * height / seconds / 1e6,
        "tiles_per_s": stats.tiles / seconds,
        "model_seconds": stats.model_seconds,
        "reader_wait_seconds": stats.wait_seconds,
        "median_batch_seconds": statistics.median(batches) if batches else None,
        "peak_rss_mib": _own_peak_rss_mib(),
        "isa_cap": {
            k: os.environ[k]
            for k in ("ONEDNN_MAX_CPU_ISA", "FBGEMM_ENABLE_INSTRUCTIONS")
            if k in os.environ
        },
    }
    result.write_text(json.dumps(figures))


def paired_child(raster: Path, model: Path, onnx_model: Path, result: Path, rounds: int) -> None:
    """Forward passes only, on the same real tiles, alternating PyTorch, ONNX Runtime and
    matrix multiplies round by round, so every figure sees the same machine load."""
    import numpy as np
    import onnxruntime
    import rasterio
    import torch
    from rasterio.windows import Window

    from backend.models.classifier import load_classifier
    from backend.raster.predictor import TilePredictor, classes_agree

    threads = torch.get_num_threads()
    classifier, metadata = load_classifier(model)
    with rasterio.open(raster) as src:
        across = min(BATCH, src.width // TILE)
        down = min(-(-BATCH // across), src.height // TILE)
        block = src.read(window=Window(0, 0, across * TILE, down * TILE))
    grid = block.reshape(3, down, TILE, across, TILE).transpose(1, 3, 2, 4, 0)
    tiles = np.resize(grid.reshape(-1, TILE, TILE, 3), (BATCH, TILE, TILE, 3))  # [B, T, T, C]
    predictor = TilePredictor(classifier, 255.0, "cpu", "auto", freeze=True, agree=classes_agree)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        str(onnx_model), options, providers=["CPUExecutionProvider"]
    )

    def ort(pixels: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(pixels.transpose(0, 3, 1, 2), dtype=np.float32) * np.float32(
            1 / 255
        )
        return session.run(None, {"x": x})[0]

    dtype = "bfloat16" if predictor.precision == "bf16" else "float32"
    n = 4096
    a, b = (torch.randn(n, n).to(getattr(torch, dtype)) for _ in range(2))
    steps = {
        "torch": lambda: predictor(tiles),
        "onnxruntime": lambda: ort(tiles),
        "matmul": lambda: torch.mm(a, b),
    }
    for step in steps.values():  # warm-up: tracing, first-batch check, kernel selection
        step()
        step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            started = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(values) for name, values in times.items()}
    best = {name: min(values) for name, values in times.items()}
    agreement = float((predictor(tiles).argmax(1) == ort(tiles).argmax(1)).mean())
    figures = {
        "precision": predictor.precision,
        "threads": threads,
        "batch": BATCH,
        "rounds": rounds,
        "median_seconds": medians,
        "best_seconds": best,
        "matmul_gflops": 2 * n**3 / medians["matmul"] / 1e9,
        "matmul_peak_gflops": 2 * n**3 / best["matmul"] / 1e9,
        "tiles_agreement_with_onnxruntime": agreement,
    }
    result.write_text(json.dumps(figures))


def _own_peak_rss_mib() -> float | None:
    """This process's peak RSS (VmHWM): unlike ru_maxrss, it does not count the parent's
    memory that a freshly forked child held until it exec'd."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _child(
    engine: str,
    raster: Path,
    model: Path,
    onnx_model: Path,
    precision: str,
    tag: str,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    scratch = _scratch() / "runs"
    scratch.mkdir(exist_ok=True)
    args = [
        "-m",
        "bench.raster_bench",
        "--child",
        engine,
        "--raster",
        str(raster),
        "--model",
        str(model),
        "--onnx",
        str(onnx_model),
        "--precision",
        precision,
        "--result",
        str(scratch / f"{tag}.json"),
        "--output",
        str(scratch / f"{tag}.tif"),
    ]
    load_before = load_average()
    env = {CACHE_ENV: str(_engine_cache()), **(env or {})}
    run = run_child(args, scratch / f"{tag}.json", scratch / f"{tag}.log", timeout_s=900, env=env)
    if run.returncode != 0 or run.result is None:
        print(f"  {tag}: FAILED (exit {run.returncode})\n{run.log_tail}", file=sys.stderr)
        return {"error": f"exit status {run.returncode}", "log_tail": run.log_tail[-800:]}
    figures = run.result
    figures["peak_rss_mib_wait4"] = run.peak_rss_mib  # includes the parent's pre-exec pages
    if figures.get("peak_rss_mib") is None:
        figures["peak_rss_mib"] = run.peak_rss_mib
    figures["load_average_before"] = load_before
    # relative to bench/tmp: the results file carries no path of this machine
    figures["output"] = (scratch / f"{tag}.tif").relative_to(SCRATCH_DIR).as_posix()
    print(
        f"  {tag}: {figures['seconds']:.2f} s, {figures['megapixels_per_s']:.2f} MP/s, "
        f"{figures['engine']} {figures['precision']}, first result "
        f"{figures['first_result_seconds']:.2f} s, peak RSS {figures['peak_rss_mib']:.0f} MiB",
        flush=True,
    )
    return figures


def _engine_cache() -> Path:
    """The engine cache the benchmark's children use (emptied for the cold first result)."""
    return _scratch() / "engine-cache"


def _paired(raster: Path, model: Path, onnx_model: Path, rounds: int) -> dict[str, Any]:
    scratch = _scratch() / "runs"
    scratch.mkdir(exist_ok=True)
    args = [
        "-m",
        "bench.raster_bench",
        "--child",
        "paired",
        "--raster",
        str(raster),
        "--model",
        str(model),
        "--onnx",
        str(onnx_model),
        "--rounds",
        str(rounds),
        "--result",
        str(scratch / "paired.json"),
    ]
    run = run_child(args, scratch / "paired.json", scratch / "paired.log", timeout_s=900)
    if run.returncode != 0 or run.result is None:
        print(f"  paired: FAILED (exit {run.returncode})\n{run.log_tail}", file=sys.stderr)
        return {"error": f"exit status {run.returncode}", "log_tail": run.log_tail[-800:]}
    return run.result


def class_agreement(a: Path, b: Path) -> float:
    """Share of output pixels with the same class in two class rasters."""
    import numpy as np
    import rasterio

    with rasterio.open(a) as x, rasterio.open(b) as y:
        return float(np.mean(x.read(1) == y.read(1)))


def query_latency(size: int, queries: int) -> dict[str, Any]:
    """Median and 95th-percentile latency of a top-10 search over ``size`` sounds."""
    import numpy as np
    import torch

    from backend.index import SoundIndex, save_index

    folder = _scratch() / f"index-{size}"
    if not (folder / "embeddings.safetensors").is_file():
        generator = torch.Generator().manual_seed(SEED)
        embeddings = torch.nn.functional.normalize(
            torch.randn(size, INDEX_DIM, generator=generator), dim=1
        )
        rng = np.random.default_rng(SEED)
        lonlat = np.stack([rng.uniform(-180, 180, size), rng.uniform(-60, 70, size)], 1)
        rows = [
            [
                str(k),
                f"Recording {k}",
                f"creator {k % 97}",
                "https://creativecommons.org/licenses/by/4.0/",
                repr(float(lonlat[k, 0])),
                repr(float(lonlat[k, 1])),
                f"audio/{k}.mp3",
            ]
            for k in range(size)
        ]
        save_index(folder, embeddings, list(range(size)), lonlat, rows, {"model": "synthetic"})
    started = time.perf_counter()
    index = SoundIndex.load(folder)
    load_seconds = time.perf_counter() - started
    generator = torch.Generator().manual_seed(SEED + 1)
    probes = torch.randn(queries, INDEX_DIM, generator=generator)
    index.search(probes[0], 10, (13.4, 52.5))  # warm-up
    times = []
    for q in probes:
        started = time.perf_counter()
        index.search(q, 10, (13.4, 52.5))
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "sounds": size,
        "embed_dim": INDEX_DIM,
        "top": 10,
        "queries": queries,
        "median_ms": statistics.median(times),
        "p95_ms": times[int(0.95 * (len(times) - 1))],
        "load_seconds": load_seconds,
        "search": "exact (matrix-vector product + torch.topk), metadata and haversine distances of the top 10",
    }


# ----------------------------------------------------------------------------- driver


def _summary(values: list[float]) -> dict[str, float]:
    return {"best": min(values), "median": statistics.median(values)}


def compare_engines(
    rasters: dict[int, Path],
    model: Path,
    onnx_model: Path,
    label: str,
    env: dict[str, str] | None,
    rounds: int,
) -> dict[str, Any]:
    """The peer (ONNX Runtime fp32) and the default path at every size, alternating.

    Each round runs, per size, the peer then the default path, each in a fresh
    process; ratios come from the best and from the median of the rounds.
    """
    sizes: dict[str, Any] = {}
    for round_ in range(1, rounds + 1):
        for size, raster in rasters.items():
            entry = sizes.setdefault(str(size), {"onnxruntime": [], "default": []})
            for name, engine in (("onnxruntime", "onnxruntime"), ("default", "torch")):
                tag = f"{label}-{name}-{size}-{round_}"
                entry[name].append(_child(engine, raster, model, onnx_model, "auto", tag, env))
    for size, entry in sizes.items():
        peer = [r["seconds"] for r in entry["onnxruntime"] if "seconds" in r]
        ours = [r["seconds"] for r in entry["default"] if "seconds" in r]
        if not peer or not ours:
            entry["error"] = "a run failed"
            continue
        peer_s, ours_s = _summary(peer), _summary(ours)
        last = entry["default"][-1]
        entry["seconds"] = {"onnxruntime": peer, "default": ours}
        entry["default_engine"] = last.get("engine")
        entry["default_precision"] = last.get("precision")
        entry["default_choice"] = last.get("choice")
        entry["int8_agreement_calibration"] = last.get("int8_agreement_calibration")
        entry["over_onnxruntime_best"] = peer_s["best"] / ours_s["best"]
        entry["over_onnxruntime_median"] = peer_s["median"] / ours_s["median"]
        entry["megapixels_per_s_best"] = {
            "onnxruntime": int(size) ** 2 / peer_s["best"] / 1e6,
            "default": int(size) ** 2 / ours_s["best"] / 1e6,
        }
        # both sides with their set-up: model file read, session created or engine chosen
        firsts = {
            name: _summary([r["first_result_seconds"] for r in entry[name] if "seconds" in r])
            for name in ("onnxruntime", "default")
        }
        entry["first_result_seconds_best"] = {name: firsts[name]["best"] for name in firsts}
        for measure in ("best", "median"):
            entry[f"with_setup_over_onnxruntime_{measure}"] = (
                firsts["onnxruntime"][measure] / firsts["default"][measure]
            )
        entry["peak_rss_mib"] = {
            name: max(r["peak_rss_mib"] for r in entry[name] if "seconds" in r)
            for name in ("onnxruntime", "default")
        }
        entry["agreement_default_vs_onnxruntime"] = class_agreement(
            SCRATCH_DIR / entry["default"][-1]["output"],
            SCRATCH_DIR / entry["onnxruntime"][-1]["output"],
        )
        print(
            f"  {label} {size} px: default ({entry['default_engine']} "
            f"{entry['default_precision']}) / ONNX Runtime = "
            f"{entry['over_onnxruntime_best']:.2f} (best), "
            f"{entry['over_onnxruntime_median']:.2f} (median)",
            flush=True,
        )
    return sizes


def calibrating_run(raster: Path, model: Path, onnx_model: Path) -> dict[str, Any]:
    """The default path's first run of the model on a raster large enough to calibrate
    int8 (engine cache emptied first), beside the peer: what the first large raster
    classified with a new model costs. The runs compared afterwards find the cache
    filled, as every later raster does."""
    import shutil

    shutil.rmtree(_engine_cache(), ignore_errors=True)
    cold = _child("torch", raster, model, onnx_model, "auto", "calibrating", None)
    peer = _child("onnxruntime", raster, model, onnx_model, "auto", "calibrating-peer", None)
    figures = {
        "raster_px": cold.get("raster_px"),
        "seconds": cold.get("seconds"),
        "onnxruntime_seconds": peer.get("seconds"),
        "engine": cold.get("engine"),
        "precision": cold.get("precision"),
        "choice": cold.get("choice"),
        "int8_agreement_calibration": cold.get("int8_agreement_calibration"),
    }
    if cold.get("seconds") and peer.get("seconds"):
        figures["over_onnxruntime"] = peer["seconds"] / cold["seconds"]
    record = next(_engine_cache().glob("*.int8.json"), None)
    if record is not None:
        figures["int8_record"] = json.loads(record.read_text())
    print(
        f"  calibrating run: {figures.get('engine')} {figures.get('precision')}, "
        f"{figures.get('seconds') or 0:.2f} s (peer {figures.get('onnxruntime_seconds') or 0:.2f} s)",
        flush=True,
    )
    return figures


def first_result(
    raster: Path, model: Path, onnx_model: Path, label: str, env: dict[str, str] | None
) -> dict[str, Any]:
    """Call-to-output time of the default path on a small raster: engine cache empty
    (cold), then filled by that run (warm); the peer's beside it."""
    import shutil

    shutil.rmtree(_engine_cache(), ignore_errors=True)
    cold = _child("torch", raster, model, onnx_model, "auto", f"{label}-first-cold", env)
    warm = _child("torch", raster, model, onnx_model, "auto", f"{label}-first-warm", env)
    peer = _child("onnxruntime", raster, model, onnx_model, "auto", f"{label}-first-peer", env)
    figures = {
        "cold_seconds": cold.get("first_result_seconds"),
        "warm_seconds": warm.get("first_result_seconds"),
        "onnxruntime_seconds": peer.get("first_result_seconds"),
        "engine": warm.get("engine"),
        "precision": warm.get("precision"),
        "choice": warm.get("choice"),
        "what": "model file read, engine set up (ONNX Runtime session; the default path's "
        "choice, cache look-up or ONNX export), then classify_with until the styled GeoTIFF "
        "is renamed into place; process start-up and imports excluded",
    }
    if figures["warm_seconds"] and figures["onnxruntime_seconds"]:
        figures["warm_over_onnxruntime"] = figures["onnxruntime_seconds"] / figures["warm_seconds"]
    return figures


def forced_int8(
    raster: Path, model: Path, onnx_model: Path, label: str, env: dict[str, str] | None
) -> dict[str, Any]:
    """``--precision int8`` (kept whatever its check says) against fp32 PyTorch: the speed
    int8 would give and its class agreement over the whole raster."""
    int8 = _child("torch-only", raster, model, onnx_model, "int8", f"{label}-int8", env)
    fp32 = _child("torch-only", raster, model, onnx_model, "fp32", f"{label}-fp32", env)
    figures: dict[str, Any] = {"int8": int8, "fp32": fp32}
    if "output" in int8 and "output" in fp32:
        figures["class_agreement_whole_raster"] = class_agreement(
            SCRATCH_DIR / int8["output"], SCRATCH_DIR / fp32["output"]
        )
        figures["int8_over_fp32"] = fp32["seconds"] / int8["seconds"]
    return figures


def model_family(
    raster: Path, models: dict[str, Path], onnx_model: Path, env: dict[str, str] | None
) -> dict[str, Any]:
    """Throughput and peak memory of each classifier, bf16 and fp32 (PyTorch)."""
    rows: dict[str, Any] = {}
    for name, path in models.items():
        for precision in ("bf16", "fp32"):
            run = _child(
                "torch-only", raster, path, onnx_model, precision, f"family-{name}-{precision}", env
            )
            rows[f"{name}_{precision}"] = {
                k: run.get(k)
                for k in ("precision", "seconds", "megapixels_per_s", "tiles_per_s", "peak_rss_mib")
            }
    return rows


def run_benchmark(quick: bool = False, out: Path | None = None) -> dict[str, Any]:
    """Measure everything and write the result file; returns its contents."""
    import torch

    from backend.device import cpu_supports_bf16
    from backend.models.encoders import flops_per_sample

    started = time.perf_counter()
    sizes = QUICK_SIZES if quick else SIZES
    rounds = 1 if quick else 2
    scratch = _scratch()
    print(
        f"raster benchmark: {', '.join(f'{s}^2' for s in sizes)} px, tile {TILE}, stride {STRIDE}, "
        f"batch {BATCH}",
        flush=True,
    )
    rasters = {size: write_scene_raster(scratch / f"scene-{size}.tif", size) for size in sizes}
    steps = 10 if quick else TRAIN_STEPS
    model = train_scene_classifier(scratch / f"scene-classifier-trained{steps}.safetensors", steps)
    onnx_model = export_onnx(model, model.with_suffix(".onnx"))
    bf16 = cpu_supports_bf16()

    calibration = calibrating_run(rasters[sizes[1]], model, onnx_model)
    comparison = {"default_isa": compare_engines(rasters, model, onnx_model, "isa", None, rounds)}
    comparison["avx2"] = compare_engines(rasters, model, onnx_model, "avx2", AVX2_ENV, rounds)
    small = rasters[sizes[0]]
    firsts = {
        "default_isa": first_result(small, model, onnx_model, "isa", None),
        "avx2": first_result(small, model, onnx_model, "avx2", AVX2_ENV),
    }
    int8_raster = rasters[sizes[1]]
    int8 = {"avx2": forced_int8(int8_raster, model, onnx_model, "avx2", AVX2_ENV)}

    family_models = {
        "native_resnet18": fit_scene_classifier(scratch / "scene-classifier.safetensors", 64),
        "reference_resnet18": fit_scene_classifier(
            scratch / "reference18-classifier.safetensors", 64, "resnet18", "reference"
        ),
    }
    if not quick:
        family_models["reference_resnet50"] = fit_scene_classifier(
            scratch / "reference50-classifier.safetensors", 64, "resnet50", "reference"
        )
    family = model_family(rasters[sizes[1]], family_models, onnx_model, None)

    paired = _paired(rasters[sizes[-1]], model, onnx_model, 3 if quick else 8)
    flops = flops_per_sample(ARCH, TILE) + 2 * 512 * 6  # trunk + linear head
    if "median_seconds" in paired:
        med, best = paired["median_seconds"], paired["best_seconds"]
        paired["torch_forward_gflops"] = flops * BATCH / med["torch"] / 1e9
        paired["onnxruntime_forward_gflops"] = flops * BATCH / med["onnxruntime"] / 1e9
        paired["torch_forward_gflops_best"] = flops * BATCH / best["torch"] / 1e9
        paired["onnxruntime_forward_gflops_best"] = flops * BATCH / best["onnxruntime"] / 1e9
        paired["torch_share_of_matmul_median"] = (
            paired["torch_forward_gflops"] / paired["matmul_gflops"]
        )
        paired["torch_share_of_matmul_peak"] = (
            paired["torch_forward_gflops_best"] / paired["matmul_peak_gflops"]
        )
        paired["torch_over_onnxruntime_forward"] = med["onnxruntime"] / med["torch"]

    query = query_latency(10_000 if quick else INDEX_SIZE, 50 if quick else QUERIES)
    print(f"  query: median {query['median_ms']:.2f} ms over {query['sounds']} sounds", flush=True)

    big = str(sizes[-1])
    figures: dict[str, Any] = {}
    peer = comparison["avx2"].get(str(sizes[1]), {}).get("seconds", {}).get("onnxruntime")
    if peer and "seconds" in int8["avx2"]["int8"]:
        figures["avx2_forced_int8_over_onnxruntime"] = min(peer) / int8["avx2"]["int8"]["seconds"]
    for isa, table in comparison.items():
        ratios = {size: entry.get("over_onnxruntime_best") for size, entry in table.items()}
        figures[f"{isa}_over_onnxruntime_best"] = ratios
        figures[f"{isa}_over_onnxruntime_median"] = {
            size: entry.get("over_onnxruntime_median") for size, entry in table.items()
        }
        figures[f"{isa}_with_setup_over_onnxruntime_best"] = {
            size: entry.get("with_setup_over_onnxruntime_best") for size, entry in table.items()
        }
        figures[f"{isa}_precision"] = {
            size: f"{entry.get('default_engine')} {entry.get('default_precision')}"
            for size, entry in table.items()
        }
    big_isa = comparison["default_isa"].get(big, {})
    small_isa = comparison["default_isa"].get(str(sizes[1]), {})
    figures["torch_over_onnxruntime_end_to_end"] = big_isa.get("over_onnxruntime_best")
    if small_isa.get("peak_rss_mib") and big_isa.get("peak_rss_mib"):
        figures["rss_8192_over_2048"] = (
            big_isa["peak_rss_mib"]["default"] / small_isa["peak_rss_mib"]["default"]
        )
    figures["forward_share_of_matmul_peak"] = paired.get("torch_share_of_matmul_peak")
    figures["torch_over_onnxruntime_forward_paired"] = paired.get("torch_over_onnxruntime_forward")
    figures["query_median_ms"] = query["median_ms"]
    checks = {}
    for name, target in TARGETS.items():
        value = figures.get(name)
        if value is None:
            checks[name] = {"target": target, "value": None, "met": False}
            continue
        met = (
            value <= target
            if name in ("rss_8192_over_2048", "query_median_ms")
            else value >= target
        )
        checks[name] = {"target": target, "value": round(value, 4), "met": met}
    for isa, table in comparison.items():
        for measure in ("over_onnxruntime_best", "with_setup_over_onnxruntime_best"):
            values = [entry.get(measure) for entry in table.values()]
            worst = min((v for v in values if v is not None), default=None)
            name = measure.removesuffix("_best").replace("over_onnxruntime", "")
            checks[f"{isa}_{name}over_onnxruntime_every_size"] = {
                "target": TARGET_OVER_ONNXRUNTIME,
                "value": None if worst is None else round(worst, 4),
                "met": worst is not None
                and None not in values
                and worst >= TARGET_OVER_ONNXRUNTIME,
            }

    payload = {
        "benchmark": "raster",
        "quick": quick,
        "machine": machine_info(),
        "settings": {
            "raster": f"procedural demo scene (seed {SEED}), mirrored to "
            f"{', '.join(map(str, sizes))} px squares, 3 bands uint8, {RESOLUTION_M} m, "
            "tiled 256 px deflate GeoTIFF",
            "model": f"{ARCH} SceneClassifier, 6 classes, trained end to end on the demo scene "
            f"({steps} AdamW steps of 16 tiles; model_family's native ResNet-18: random trunk, "
            "head ridge-fitted)",
            "tile_px": TILE,
            "stride_px": STRIDE,
            "batch": BATCH,
            "threads": torch.get_num_threads(),
            "native_bf16": bf16,
            "avx2_env": AVX2_ENV,
            "rounds": rounds,
            "flops_per_tile": flops,
            "choices": [
                "every classification runs in a fresh process; peak RSS is its VmHWM",
                "end-to-end seconds = classify_with: reading, tiling, inference, writing the tiled "
                "deflate GeoTIFF with colour table, overviews and QML. The peer (ONNX Runtime fp32 "
                "running the benchmark's own fp32 ONNX export, replacing the model call) has its "
                "session created before the call; the default path (classify_with, --engine auto "
                "--precision auto) makes every choice, looks up or writes the engine cache, "
                "creates an ONNX Runtime session or calibrates int8 inside the timed call",
                "with_setup ratios: the same runs timed from the model file's read to the "
                "output, so the peer's session creation counts as the default path's engine "
                "set-up does (the fair end-to-end figure for a user's run); the plain ratios "
                "leave the peer's set-up out and are the stricter",
                "calibrating_run: the default path's first run of the model on the "
                f"{sizes[1]} px raster with the engine cache emptied (ONNX export and, where "
                "auto chooses it, the int8 build calibrated on its first batch, inside the "
                "timed call), beside the peer; the comparison's runs come after it and find "
                "the cache filled, as every later raster with that model does",
                "first_result: model file read + engine set up + classify_with, on the smallest "
                "raster; cold = engine cache emptied before the run, warm = the next run (a "
                "raster that small is not worth an int8 build: both run fp32 unless a cached "
                "int8 model exists)",
                f"rounds: the peer and the default path alternate per size, {rounds} round(s); "
                "ratios from the best and from the median of the rounds",
                "avx2: children run with ONEDNN_MAX_CPU_ISA=AVX2 and FBGEMM_ENABLE_INSTRUCTIONS=AVX2 "
                "(PyTorch's fp32/bf16 and int8 kernels capped at AVX2, as on a laptop without "
                "AVX512); ONNX Runtime has no such switch and keeps using AVX512 here, so the "
                "peer is stronger than on a real AVX2 laptop",
                "forced_int8: --engine torch --precision int8, kept whatever its calibration check "
                "says, against --engine torch --precision fp32 on the same raster; the class "
                "agreement is over every output pixel",
                "model_family: --engine torch at bf16 and fp32 (bf16 runs emulated where the CPU "
                "lacks it), same raster; the reference trunk is the paper's final layout "
                "(32 stem, 64/182/256/512 stages), random weights",
                "ONNX export: torch.onnx.export(dynamo=False, opset 17)",
                "query latency: exact search of one embedding against the index in memory",
            ],
        },
        "calibrating_run": calibration,
        "comparison": comparison,
        "first_result": firsts,
        "forced_int8": int8,
        "model_family": family,
        "paired_forward": paired,
        "query": query,
        "figures": figures,
        "targets": checks,
        "seconds": time.perf_counter() - started,
    }
    out = out or (_scratch() / "raster-quick.json" if quick else RESULTS_DIR / "raster.json")
    write_result(out, _rounded(payload))
    print(f"wrote {out} in {payload['seconds']:.0f} s", flush=True)
    for name, check in checks.items():
        print(
            f"  {name}: {check['value']} (target {check['target']}) {'met' if check['met'] else 'NOT met'}"
        )
    return payload


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def main(argv: list[str] | None = None) -> int:
    """Entry point: the whole benchmark, or one classification run (internal)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke test (small rasters)")
    parser.add_argument("--out", type=Path, default=None, help="result file")
    parser.add_argument(
        "--child",
        choices=["torch", "torch-only", "onnxruntime", "paired"],
        help=argparse.SUPPRESS,
    )
    parser.add_argument("--rounds", type=int, default=8, help=argparse.SUPPRESS)
    parser.add_argument("--raster", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--model", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--onnx", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--precision", default="auto", help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "paired":
        paired_child(args.raster, args.model, args.onnx, args.result, args.rounds)
        return 0
    if args.child:
        classify_child(
            args.child, args.raster, args.model, args.onnx, args.precision, args.output, args.result
        )
        return 0
    payload = run_benchmark(quick=args.quick, out=args.out)
    # a missed target is a figure to report; a run that failed is an error
    failed = any(
        "error" in entry for table in payload["comparison"].values() for entry in table.values()
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

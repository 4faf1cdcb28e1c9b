"""Raster and sound-index commands of the CLI: ``classify``, ``embed``, ``soundmap``, ``index``, ``query``."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

from backend.cli import UserError, progress_bar
from backend.cli.options import (
    DECODER_WORKERS_HELP,
    add_dataset_option,
    add_device_option,
    add_extent_options,
    add_inference_precision_option,
    add_json_option,
    add_model_bands_option,
    add_model_option,
    add_raster_option,
    add_spectrograms_option,
    add_workers_option,
)

_TILING_NOTE = (
    "The raster is read in strips (constant memory, any size), resampled to the model's "
    "ground resolution when its own differs by more than 5%, and cut into tiles: each "
    "output pixel is one --stride x --stride cell, computed from the --tile x --tile "
    "window centred on it (pixels at the model's resolution). Past the raster's edges "
    "tiles are padded by reflection; cells that are mostly nodata or masked stay nodata. "
    "The output is written under a temporary name and appears only when complete."
)


def _add_raster_options(
    parser: argparse.ArgumentParser, out_help: str, classify: bool = False
) -> None:
    from backend.raster.predictor import PRECISIONS

    add_raster_option(parser)
    add_model_option(parser, "model file (.safetensors)")
    parser.add_argument("--out", required=True, type=Path, metavar="OUT", help=out_help)
    add_extent_options(parser)
    add_model_bands_option(parser)
    parser.add_argument(
        "--tile", type=int, metavar="PX", help="tile side in pixels (default: the model's)"
    )
    parser.add_argument(
        "--stride",
        type=int,
        metavar="PX",
        help=(
            "output pixel side in pixels, at most --tile; smaller is finer but slower "
            "(default: classify about --tile/8, e.g. 4 for a 32-pixel tile, and fine enough "
            "for a few hundred output pixels; embed and soundmap: --tile)"
        ),
    )
    parser.add_argument(
        "--batch", type=int, default=32, metavar="N", help="tiles per model call (default: 32)"
    )
    parser.add_argument(
        "--resolution",
        default="model",
        metavar="M",
        help=(
            "ground resolution to work at: 'model' (the model file's, default), 'native' "
            "(the raster's own pixels) or metres per pixel"
        ),
    )
    add_device_option(parser)
    if not classify:
        add_inference_precision_option(parser)
        return
    add_inference_precision_option(
        parser,
        PRECISIONS,
        help="auto (default): int8 where it gives the fp32 class on at least 99%% of the "
        "tiles it is checked on (built once per model from the first batch of a raster of 96 "
        "tiles or more, with ONNX Runtime; else PyTorch's int8 for runs of 512 tiles or more "
        "on CPUs without native bf16); bf16 on CUDA and on CPUs with native bf16 "
        "(AVX512-BF16, AMX) once the first batch agrees with fp32; fp32 otherwise. int8 runs "
        "on the CPU only; the choice and its reason are printed",
    )
    parser.add_argument(
        "--engine",
        choices=("auto", "torch", "onnxruntime"),
        default="auto",
        help="auto (default): on the CPU, ONNX Runtime in int8 once the model's int8 build has "
        "passed its check, and in fp32 where PyTorch would run fp32; PyTorch otherwise (bf16, "
        "CUDA); onnxruntime runs fp32 or int8 on the CPU from "
        "an ONNX export of the model kept in the cache folder ($SOUNDING_EARTH_ENGINE_CACHE, "
        "else ~/.cache/sounding-earth/engine)",
    )


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``classify``, ``embed``, ``soundmap``, ``index`` and ``query``."""
    p = subparsers.add_parser(
        "classify",
        help="classify imagery into land-cover classes (styled GeoTIFF + .qml)",
        description=(
            "Classify every tile of a raster with a classifier model file (from `finetune`). "
            "Writes OUT (uint8 class numbers, nodata 255, colour table, class names in the "
            "metadata) and OUT's .qml style beside it, so QGIS shows the classes with their "
            "colours and names. " + _TILING_NOTE + " A segmentation model file (from "
            "`transfer --task segmentation`) gives one class per pixel instead: each tile "
            "keeps its central --stride x --stride square (default: half the tile), and OUT "
            "has the working grid's pixels (the raster's own, unless the model records a "
            "ground resolution)."
        ),
    )
    _add_raster_options(p, "output GeoTIFF of classes", classify=True)
    p.add_argument(
        "--probabilities",
        nargs="?",
        const="auto",
        metavar="PATH",
        help="also write class probabilities (float32, one band per class) to PATH "
        "(default: OUT_probabilities.tif)",
    )
    p.add_argument(
        "--confidence",
        nargs="?",
        const="auto",
        metavar="PATH",
        help="also write a confidence map (the largest class probability, 0 to 1; low where "
        "the map is unsure, i.e. where more labels help) with a colour-ramp .qml to PATH "
        "(default: OUT_confidence.tif)",
    )
    p.set_defaults(func=run_classify)

    # Each command below is declared in the same shape as classify above: a different command.
    p = subparsers.add_parser(
        "embed",
        help="write the image embedding of every tile as a multiband GeoTIFF",
        description=(
            "Embed every tile of a raster with an audiovisual model's image encoder. Writes OUT "
            "with one float32 band per embedding dimension (nodata NaN) on the tile grid, for "
            "clustering, similarity search or your own analysis. " + _TILING_NOTE
        ),
    )
    _add_raster_options(p, "output GeoTIFF of embeddings")
    p.set_defaults(func=run_embed)

    p = subparsers.add_parser(
        "soundmap",
        help="map where on the imagery a recording belongs (similarity heat map)",
        description=(
            "Embed a recording with an audiovisual model's audio encoder and every tile of the "
            "raster with its image encoder, and write how close they are by the model's distance "
            "(float32, nodata NaN): the cosine similarity (-1 to 1), or minus the Euclidean "
            "distance for an imported paper model that ranks by it; with a colour-ramp .qml "
            "beside it: bright where the sound fits. " + _TILING_NOTE
        ),
    )
    _add_raster_options(p, "output GeoTIFF of similarities")
    p.add_argument(
        "--audio",
        required=True,
        type=Path,
        metavar="SOUND",
        help="the query recording: wav, flac, ogg or mp3, decoded in the spectrogram encoding "
        "the model was trained on (or a spectrogram .jpg, for a model trained on the JPGs)",
    )
    p.set_defaults(func=run_soundmap)

    p = subparsers.add_parser(
        "index",
        help="build a searchable index of sound embeddings from a recording collection",
        description=(
            "Embed every recording of a folder in the SoundingEarth layout (metadata.csv plus "
            "audio/, spectrograms/ or the `prepare` cache) with an audiovisual model's audio "
            "encoder, in the spectrogram encoding the model was trained on (a model trained on "
            "spectrograms/*.jpg reads those, or raw audio through the JPG front end; any other "
            "reads the log-mel of the audio; never a mix). Writes the folder INDEX: "
            "embeddings.safetensors and recordings.csv (title, creator, licence, file, "
            "longitude, latitude). Recordings without readable sound are skipped and counted."
        ),
    )
    add_dataset_option(p, "recording collection (a folder in the SoundingEarth layout)")
    add_model_option(p, "audiovisual model file")
    p.add_argument("--out", required=True, type=Path, metavar="INDEX", help="index folder to write")
    p.add_argument(
        "--windows",
        type=int,
        default=8,
        metavar="N",
        help="3-second spectrogram windows embedded per recording at most (default: 8)",
    )
    p.add_argument("--batch", type=int, default=64, metavar="N", help="windows per model call")
    add_spectrograms_option(p)
    add_workers_option(p, 4, DECODER_WORKERS_HELP)
    add_device_option(p)
    p.add_argument(
        "--faiss",
        action="store_true",
        help="also build a FAISS HNSW graph (needs faiss-cpu; worth it past a million sounds)",
    )
    p.set_defaults(func=run_index)

    p = subparsers.add_parser(
        "query",
        help="list the recordings that sound most like the imagery inside an extent",
        description=(
            "Embed the imagery inside --extent (tiles side by side, or spread out when the extent "
            "is large), average the embeddings and list the --top recordings of INDEX whose "
            "sound embedding is closest, with similarity, title, creator, licence, file, "
            "location and distance from the extent's centre."
        ),
    )
    p.add_argument("--index", required=True, type=Path, metavar="INDEX", help="index folder")
    add_model_option(p, "the model the index was built with")
    add_raster_option(p)
    add_extent_options(p, required=True)
    p.add_argument(
        "--top", type=int, default=10, metavar="K", help="recordings to list (default: 10)"
    )
    add_json_option(p, "also write the answer as JSON")
    add_model_bands_option(p)
    p.add_argument(
        "--max-tiles",
        type=int,
        default=256,
        metavar="N",
        help="tiles embedded at most; larger extents are sampled (default: 256)",
    )
    add_device_option(p)
    add_inference_precision_option(p)
    p.add_argument("--faiss", action="store_true", help="search through FAISS (needs faiss-cpu)")
    p.set_defaults(func=run_query)


@contextlib.contextmanager
def _user_errors() -> Iterator[None]:
    """Print warnings as one line each; turn read errors into errors without a traceback."""
    from backend.raster.engine import RasterReadError

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        print(f"warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        try:
            yield
        except RasterReadError as exc:
            raise UserError(str(exc)) from exc


@contextlib.contextmanager
def _named(path, *errors: type[Exception]) -> Iterator[None]:
    """Turn ``errors`` into a UserError naming ``path``."""
    try:
        yield
    except errors as exc:
        raise UserError(f"{path}: cannot use this raster here ({exc})") from exc


def _raster_options(args: argparse.Namespace) -> dict:
    from backend.raster.engine import parse_bands
    from backend.raster.grid import Extent

    if args.batch < 1:
        raise UserError(f"--batch must be at least 1, got {args.batch}")
    return {
        "extent": Extent.parse(args.extent) if args.extent else None,
        "extent_crs": args.crs,
        "bands": parse_bands(args.bands) if args.bands else None,
        "tile": args.tile,
        "stride": args.stride,
        "batch_size": args.batch,
        "resolution": args.resolution,
        "device": args.device,
        "precision": args.precision,
    }


def run_classify(args: argparse.Namespace) -> int:
    """Run ``classify``."""
    from backend.raster.classify import classify_raster

    with _user_errors():
        options = _raster_options(args)
        with progress_bar("classify") as bar:
            result = classify_raster(
                args.raster,
                args.model,
                args.out,
                probabilities=args.probabilities,
                confidence=args.confidence,
                engine=args.engine,
                progress=bar,
                **options,
            )
    total = sum(result.class_counts.values())
    for note in result.notes:
        print(f"note: {note}")
    if result.choice:
        print(f"engine: {result.choice}")
    print(
        f"wrote {result.out} ({result.width} x {result.height} pixels, {result.stats.tiles} "
        f"tiles of {result.tile} px, stride {result.stride} px, {result.precision}) "
        f"and {result.style}"
    )
    if result.probabilities is not None:
        print(f"wrote {result.probabilities}")
    if result.confidence is not None:
        print(f"wrote {result.confidence} and {result.confidence_style}")
    for name, count in result.class_counts.items():
        share = 100.0 * count / total if total else 0.0
        print(f"  {name}: {count} pixels ({share:.1f}%)")
    return 0


def run_embed(args: argparse.Namespace) -> int:
    """Run ``embed``."""
    from backend.raster.embed import embed_raster

    with _user_errors():
        options = _raster_options(args)
        with progress_bar("embed") as bar:
            result = embed_raster(args.raster, args.model, args.out, progress=bar, **options)
    print(
        f"wrote {result.out} ({result.width} x {result.height} pixels, {result.bands} bands, "
        f"{result.stats.tiles} tiles)"
    )
    return 0


def run_soundmap(args: argparse.Namespace) -> int:
    """Run ``soundmap``."""
    from backend.raster.soundmap import soundmap_raster

    with _user_errors():
        options = _raster_options(args)
        with progress_bar("soundmap") as bar:
            result = soundmap_raster(
                args.raster, args.model, args.audio, args.out, progress=bar, **options
            )
    print(
        f"wrote {result.out} ({result.width} x {result.height} pixels, similarity "
        f"{result.minimum:.3f} to {result.maximum:.3f}) and {result.style}"
    )
    return 0


# Same shape as the other run functions (flags to one backend call under a bar); calls differ.
def run_index(args: argparse.Namespace) -> int:
    """Run ``index``."""
    from backend.index import build_index

    if args.windows < 1 or args.batch < 1 or args.workers < 1:
        raise UserError("--windows, --batch and --workers must be at least 1")
    if not args.data.is_dir():
        raise UserError(f"{args.data}: no such folder (expected a SoundingEarth-layout folder)")
    with progress_bar("index") as bar:
        summary = build_index(
            args.data,
            args.model,
            args.out,
            device=args.device,
            batch_size=args.batch,
            max_windows=args.windows,
            workers=args.workers,
            faiss=args.faiss,
            progress=bar,
            spectrograms=args.spectrograms,
        )
    print(f"indexed {summary.count} recordings into {summary.out} in {summary.seconds:.1f} s")
    print(summary.summary())
    if summary.skipped:
        print(f"skipped recordings listed in {summary.out / 'skipped.csv'}")
    return 0


def run_query(args: argparse.Namespace) -> int:
    """Run ``query``: print the closest recordings (and write --json)."""
    from backend.extent_query import query_extent, write_query_json
    from backend.raster.engine import parse_bands
    from backend.raster.grid import Extent

    if args.top < 1:
        raise UserError(f"--top must be at least 1, got {args.top}")
    import rasterio.errors

    with _user_errors(), _named(args.raster, rasterio.errors.WindowError):
        extent = Extent.parse(args.extent)
        result = query_extent(
            args.index,
            args.model,
            args.raster,
            extent,
            args.crs,
            top=args.top,
            bands=parse_bands(args.bands) if args.bands else None,
            device=args.device,
            precision=args.precision,
            use_faiss=args.faiss,
            max_tiles=args.max_tiles,
        )
    where = ""
    if result.centre_lonlat is not None:
        where = f" around {result.centre_lonlat[1]:.5f} N, {result.centre_lonlat[0]:.5f} E"
    print(f"{len(result.matches)} closest recordings{where} ({result.tiles} tiles embedded):")
    for m in result.matches:
        distance = f"{m.distance_km:.1f} km" if m.distance_km is not None else "-"
        print(
            f"{m.rank:3d}. {m.similarity:+.3f}  {m.title or '(untitled)'} by {m.creator or '?'}"
            f"  [{distance}]  {m.licence}  {m.file}"
        )
    if args.json:
        write_query_json(
            args.json,
            result,
            raster=str(args.raster),
            extent=json.loads(json.dumps(extent.as_tuple())),
            crs=args.crs,
            index=str(args.index),
        )
        print(f"wrote {args.json}")
    return 0

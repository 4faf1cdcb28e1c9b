"""Sound embedding index: build it from a recording collection, save, load and search it.

An index is a folder:

``embeddings.safetensors``
    ``embeddings`` float32 ``[N, D]``, ``keys`` int64 ``[N]`` and ``lonlat`` float64
    ``[N, 2]``; its header records the model, the format and the ``distance`` the
    model ranks by (:mod:`backend.ranking`): ``cosine`` (L2-normalised embeddings,
    this project's models; also assumed for an index without the field) or
    ``euclidean`` (the embeddings as the model gives them, an imported reference model).
``recordings.csv``
    One row per sound, in the same order: key, title, creator, licence URL,
    longitude, latitude and the audio file (relative to the data folder).
``faiss.index`` (optional)
    A FAISS HNSW graph over the embeddings, for collections of millions of sounds.

Nothing is pickled. Search is exact (one matrix-vector product, or one row of
Euclidean distances, and a top-k) unless FAISS is asked for. The sounds of a map
extent are found by :mod:`backend.extent_query`.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import logging
import os
import shutil
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from backend.atomic import (
    OutputError,
    out_of_space,
    release_temporary,
    remove_stale_partials,
    temporary_sibling,
)
from backend.data.skipped import skip_summary, write_skipped_csv
from backend.progress import Progress, check_cancelled
from backend.ranking import (
    COSINE,
    EUCLIDEAN,
    check_distance,
    prepare,
    prepared_scores,
    ranking_distance,
)

log = logging.getLogger(__name__)

INDEX_FORMAT_VERSION = "1"
EMBEDDINGS_FILE = "embeddings.safetensors"
TABLE_FILE = "recordings.csv"
#: the recordings left out of an index, and why (key, reason, path)
SKIPPED_FILE = "skipped.csv"
FAISS_FILE = "faiss.index"
TABLE_COLUMNS = ("key", "title", "creator", "licenseurl", "longitude", "latitude", "file")
#: spectrogram windows embedded per recording at most (evenly spread over it)
MAX_WINDOWS = 8
#: windows per audio-encoder call while building
BUILD_BATCH = 64
#: tiles embedded at most for one extent query (a larger extent is sampled more sparsely)
MAX_QUERY_TILES = 256
#: HNSW graph degree of the optional FAISS index
FAISS_HNSW_M = 32


class SoundIndexError(ValueError):
    """An index that cannot be used (malformed, or made with another model), or FAISS missing."""


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file, hex (remembered while the file's size and time stay the same)."""
    stat = os.stat(path)
    return _sha256_of(os.path.abspath(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _sha256_of(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.lru_cache(maxsize=2)
def audiovisual_model_cached(path: str, size: int, mtime_ns: int, device: str):
    """A loaded audiovisual model, kept for repeated queries (the map dock asks many)."""
    from backend.models.modelfile import load_audiovisual_model

    return load_audiovisual_model(path, device=device)


def _require_faiss():
    try:
        import faiss
    except ImportError:
        raise SoundIndexError(
            "FAISS is not installed: install it with `pip install faiss-cpu` (or faiss-gpu), "
            "or leave out --faiss to use the exact search, which needs no extra package"
        ) from None
    return faiss


@dataclass
class SoundMatch:
    """One recording returned by a query."""

    rank: int
    #: closeness by the index's distance: cosine similarity, or minus the Euclidean distance
    similarity: float
    key: int
    title: str
    creator: str
    licence: str
    #: the audio (or spectrogram) file, absolute where the data folder is known
    file: str
    longitude: float
    latitude: float
    #: great-circle distance from the query's centre, km (None without a georeferenced centre)
    distance_km: float | None


@dataclass
class BuildSummary:
    """What :func:`build_index` did."""

    out: Path
    count: int
    #: ``(key, reason, path)`` of recordings left out ("missing audio", "unreadable audio")
    skipped: list[tuple[int, str, str]] = field(default_factory=list)
    seconds: float = 0.0
    #: recordings considered (indexed + skipped)
    total: int = 0

    def summary(self) -> str:
        """One line, e.g. ``skipped 2 of 50 recordings: 1 missing audio, 1 unreadable audio``."""
        from backend.data.soundingearth.pairs import SKIP_REASON_ORDER

        reasons = (reason for _, reason, _ in self.skipped)
        return skip_summary(reasons, self.total, "recordings", SKIP_REASON_ORDER)


def _write_table(path: Path, rows: Sequence[Sequence[str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(TABLE_COLUMNS)
        writer.writerows(rows)


def _replace_folder(staged: Path, out: Path) -> None:
    """Move a finished ``staged`` folder to ``out``, replacing an earlier index there."""
    backup = None
    if out.exists():
        if not (out / EMBEDDINGS_FILE).is_file():
            raise SoundIndexError(
                f"{out} exists and is not a sound index; choose another --out or remove it"
            )
        # a writer killed between these two renames leaves the backup, which the
        # next writer's sweep (remove_stale_partials) moves back to ``out``
        backup = temporary_sibling(out, "backup")
        os.replace(out, backup)
    os.replace(staged, out)
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)
        release_temporary(backup)


def save_index(
    out: str | os.PathLike,
    embeddings: torch.Tensor | np.ndarray,
    keys: Sequence[int],
    lonlat: np.ndarray,
    table: Sequence[Sequence[str]],
    info: dict[str, str],
    faiss: bool = False,
) -> Path:
    """Write an index folder atomically (a staged folder renamed into place).

    Args:
        out: The index folder.
        embeddings: ``[N, D]`` sound embeddings (L2-normalised for ``cosine``).
        keys: ``N`` recording keys.
        lonlat: ``[N, 2]`` longitude, latitude.
        table: ``N`` rows of :data:`TABLE_COLUMNS`.
        info: Header strings (model name and hash, data folder, ``distance``, ...).
        faiss: Also write a FAISS HNSW index.
    """
    from safetensors.torch import save_file

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    emb = torch.as_tensor(embeddings, dtype=torch.float32).contiguous()
    if emb.ndim != 2 or emb.shape[0] != len(keys) or len(table) != len(keys):
        raise ValueError(
            f"{emb.shape[0]} embeddings, {len(keys)} keys and {len(table)} table rows must match"
        )
    remove_stale_partials(out.parent)
    staged = temporary_sibling(out)
    staged.mkdir()
    try:
        header = {
            **{k: str(v) for k, v in info.items()},
            "format_version": INDEX_FORMAT_VERSION,
            "count": str(emb.shape[0]),
            "embed_dim": str(emb.shape[1]),
        }
        save_file(
            {
                "embeddings": emb,
                "keys": torch.as_tensor(np.asarray(keys, np.int64)),
                "lonlat": torch.as_tensor(np.asarray(lonlat, np.float64).reshape(-1, 2)),
            },
            str(staged / EMBEDDINGS_FILE),
            metadata=header,
        )
        _write_table(staged / TABLE_FILE, table)
        if faiss:
            module = _require_faiss()
            metric = (
                module.METRIC_L2
                if info.get("distance") == EUCLIDEAN
                else module.METRIC_INNER_PRODUCT
            )
            graph = module.IndexHNSWFlat(emb.shape[1], FAISS_HNSW_M, metric)
            graph.add(emb.numpy())
            module.write_index(graph, str(staged / FAISS_FILE))
        _check_index_folder(staged, emb.shape)
        _replace_folder(staged, out)
    except BaseException as error:
        reason = out_of_space(out.parent, error)
        shutil.rmtree(staged, ignore_errors=True)
        if reason:
            raise OutputError(f"cannot write {out}: {reason}") from error
        raise
    finally:
        release_temporary(staged)
    return out


def _check_index_folder(folder: Path, shape: tuple[int, ...]) -> None:
    """Read a staged index back: its embeddings have ``shape`` and its table every row."""
    from safetensors import safe_open

    try:
        with safe_open(str(folder / EMBEDDINGS_FILE), framework="pt") as handle:
            found = tuple(handle.get_slice("embeddings").get_shape())
        with open(folder / TABLE_FILE, encoding="utf-8", newline="") as handle:
            rows = sum(1 for _ in csv.reader(handle)) - 1
    except Exception as error:  # noqa: BLE001 (any failure to read back is an incomplete write)
        raise OutputError(
            f"{folder}: the index just written does not read back ({error})"
        ) from error
    if found != tuple(shape) or rows != shape[0]:
        raise OutputError(
            f"{folder}: the index just written holds {found} embeddings and {rows} rows, "
            f"not {tuple(shape)}"
        )


def build_index(
    data: str | os.PathLike,
    model_path: str | os.PathLike,
    out: str | os.PathLike,
    *,
    device: str = "auto",
    batch_size: int = BUILD_BATCH,
    max_windows: int = MAX_WINDOWS,
    workers: int = 4,
    faiss: bool = False,
    progress: Progress | None = None,
    spectrograms: str | None = None,
) -> BuildSummary:
    """Embed every recording of a SoundingEarth-layout folder and save the index.

    A recording's embedding is the mean of its (at most ``max_windows``, evenly
    spread) spectrogram windows' embeddings, renormalised when the model ranks by
    cosine similarity, left as it is when it ranks by Euclidean distance (an imported
    reference model, :mod:`backend.ranking`). Spectrograms are in the model's
    encoding only: ``spectrograms/{key}.jpg`` for a model trained on the
    release's JPGs, else the ``prepare`` cache or the raw audio through the
    encoding's front end (``spectrograms`` picks the source where the folder holds
    both; see :func:`backend.data.soundingearth.choose_spectrograms`). Recordings
    without sound in that source, or whose sound cannot be read, are skipped.

    Args:
        data: Folder with metadata.csv and audio/ (or spectrograms/ or a prepared cache).
        model_path: An audiovisual model file.
        out: The index folder to write (replaced if it is an earlier index).
        device: ``auto``, ``cpu`` or ``cuda[:N]``.
        batch_size: Spectrogram windows per model call.
        max_windows: Windows embedded per recording at most.
        workers: Threads decoding recordings.
        faiss: Also write a FAISS HNSW index (needs the faiss package).
        progress: Progress and cancellation (a cancelled build leaves nothing at ``out``).

    Raises:
        FileNotFoundError: No metadata.csv or model file.
        ModelFileError: Not an audiovisual model file.
        SoundIndexError: No recording has readable sound, or FAISS is missing.
        EncodingError: The folder cannot give the model's encoding, or mixes two.
        Cancelled: Cancelled through ``progress``.
    """
    from backend.audio import model_encoding, model_window_frames, spectrogram_windows
    from backend.data.soundingearth import (
        UNREADABLE_AUDIO,
        choose_spectrograms,
        load_pair_spectrogram,
        read_metadata,
    )
    from backend.device import resolve_device
    from backend.raster.soundmap import spread_windows

    started = time.perf_counter()
    if faiss:
        _require_faiss()
    root = Path(data)
    metadata = root / "metadata.csv"
    if not metadata.is_file():
        raise FileNotFoundError(f"{metadata} not found: --data must be a SoundingEarth folder")
    recordings = read_metadata(metadata)
    from backend.models.modelfile import load_audiovisual_model

    torch_device = resolve_device(device)
    model, meta = load_audiovisual_model(model_path, device=torch_device)
    encoding = model_encoding(meta, str(model_path))
    frames = model_window_frames(meta)
    sounds = choose_spectrograms(root, recordings, spectrograms, encoding, str(model_path))
    distance = ranking_distance(meta)

    skipped: list[tuple[int, str, str]] = []
    sources = []
    for recording in recordings:
        source = sounds.pair(recording, root / "images" / f"{recording.key}.jpg")
        if isinstance(source, tuple):
            skipped.append((recording.key, *source))
        else:
            sources.append((recording, source))

    def load(item):
        recording, source = item
        try:
            spec = load_pair_spectrogram(source)
            return item, spread_windows(spectrogram_windows(spec, frames), max_windows), None
        except (OSError, ValueError) as exc:  # AudioError is a ValueError
            return item, None, str(exc)

    sums: list[torch.Tensor] = []
    counts: list[int] = []
    kept = []
    pending_windows: list[torch.Tensor] = []
    pending_owner: list[int] = []

    def flush() -> None:
        if not pending_windows:
            return
        batch = torch.cat(pending_windows).unsqueeze(1).to(torch_device)
        with torch.inference_mode():
            z = model.encode_audio(batch).float().cpu()
        owners = torch.as_tensor(pending_owner)
        for owner in owners.unique().tolist():
            mine = owners == owner
            sums[owner] += z[mine].sum(0)
            counts[owner] += int(mine.sum())
        pending_windows.clear()
        pending_owner.clear()

    # import what decoding needs once, here: a first import racing in several threads fails
    import torchaudio.functional  # noqa: F401
    import torchaudio.transforms  # noqa: F401

    chunk = max(1, workers) * 8
    with ThreadPoolExecutor(max(1, workers)) as pool:
        for start in range(0, len(sources), chunk):
            check_cancelled(progress)
            for item, windows, error in pool.map(load, sources[start : start + chunk]):
                if windows is None:
                    source = item[1]
                    path = source.spectrogram or source.audio
                    skipped.append((item[0].key, UNREADABLE_AUDIO, str(path)))
                    log.debug("skipped %s: %s", item[0].key, error)
                    continue
                owner = len(kept)
                kept.append(item)
                sums.append(torch.zeros(meta.embed_dim))
                counts.append(0)
                for piece in windows.split(batch_size):
                    pending_windows.append(piece)
                    pending_owner.extend([owner] * piece.shape[0])
                    if len(pending_owner) >= batch_size:
                        flush()
            if progress is not None:
                done = min(len(sources), start + chunk)
                progress.progress(
                    0.95 * done / max(1, len(sources)), f"{done} of {len(sources)} recordings"
                )
    flush()
    if not kept:
        skipped.sort()
        summary = BuildSummary(Path(out), 0, skipped, total=len(recordings)).summary()
        raise SoundIndexError(f"{root}: no recording with readable sound to index ({summary})")
    means = torch.stack(sums) / torch.as_tensor(counts, dtype=torch.float32)[:, None]
    embeddings = prepare(means, distance)
    table = []
    for recording, source in kept:
        file = source.audio or source.spectrogram
        relative = os.path.relpath(file, root) if file is not None else ""
        table.append(
            [
                str(recording.key),
                recording.title,
                recording.creator,
                recording.licenseurl,
                repr(recording.longitude),
                repr(recording.latitude),
                relative,
            ]
        )
    info = {
        "model": Path(model_path).name,
        "model_sha256": file_sha256(model_path),
        "data": str(root.resolve()),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "max_windows": str(max_windows),
        "spectrogram_encoding": sounds.encoding,
        "spectrogram_source": sounds.source,
        "distance": distance,
    }
    check_cancelled(progress)
    save_index(
        out,
        embeddings,
        [r.key for r, _ in kept],
        np.array([[r.longitude, r.latitude] for r, _ in kept], np.float64),
        table,
        info,
        faiss=faiss,
    )
    skipped.sort()
    write_skipped_csv(Path(out) / SKIPPED_FILE, ("key", "reason", "path"), skipped)
    if progress is not None:
        progress.progress(1.0, f"indexed {len(kept)} recordings")
    return BuildSummary(
        Path(out), len(kept), skipped, time.perf_counter() - started, total=len(recordings)
    )


class SoundIndex:
    """A loaded index: embeddings in memory, searched exactly or through FAISS."""

    def __init__(
        self,
        embeddings: torch.Tensor,
        keys: np.ndarray,
        lonlat: np.ndarray,
        columns: dict[str, list[str]],
        info: dict[str, str],
        root: Path | None = None,
    ) -> None:
        """Wrap loaded arrays (use :meth:`load` to read a folder).

        ``embeddings`` are kept as the index's distance compares them
        (:func:`backend.ranking.prepare`: normalised once here for cosine, not per search).
        """
        #: how the index ranks (:mod:`backend.ranking`); cosine for an index without the field
        self.distance = check_distance(info.get("distance", COSINE))
        self.embeddings = prepare(embeddings, self.distance)
        self.keys = keys
        self.lonlat = lonlat
        self.columns = columns
        self.info = info
        self.root = root
        self._faiss = None

    @classmethod
    def load(cls, path: str | os.PathLike, use_faiss: bool = False) -> SoundIndex:
        """Read an index folder.

        Args:
            path: The folder written by :func:`build_index`.
            use_faiss: Search through FAISS (its saved HNSW graph, or an exact flat
                index built now when the folder has none).

        Raises:
            FileNotFoundError: No index at ``path``.
            SoundIndexError: Malformed or from a newer version; FAISS missing.
        """
        from safetensors import safe_open

        path = Path(path)
        emb_path = path / EMBEDDINGS_FILE
        if not emb_path.is_file():
            raise FileNotFoundError(
                f"{path}: not a sound index (no {EMBEDDINGS_FILE}); build one with "
                "python -m backend index"
            )
        try:
            with safe_open(str(emb_path), framework="pt") as handle:
                info = dict(handle.metadata() or {})
                tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
        except Exception as exc:  # safetensors' own error type
            raise SoundIndexError(f"{emb_path}: unreadable index ({exc})") from exc
        if info.get("format_version") != INDEX_FORMAT_VERSION:
            raise SoundIndexError(
                f"{emb_path}: index format {info.get('format_version')!r}, this version reads "
                f"{INDEX_FORMAT_VERSION!r}; rebuild the index"
            )
        missing = [n for n in ("embeddings", "keys", "lonlat") if n not in tensors]
        if missing:
            raise SoundIndexError(f"{emb_path}: missing tensors {', '.join(missing)}")
        columns: dict[str, list[str]] = {name: [] for name in TABLE_COLUMNS}
        with open(path / TABLE_FILE, encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            if tuple(header) != TABLE_COLUMNS:
                raise SoundIndexError(f"{path / TABLE_FILE}: unexpected columns {header}")
            for row in reader:
                for name, value in zip(TABLE_COLUMNS, row, strict=True):
                    columns[name].append(value)
        embeddings = tensors["embeddings"].float().contiguous()
        if len(columns["key"]) != embeddings.shape[0]:
            raise SoundIndexError(
                f"{path}: {embeddings.shape[0]} embeddings but {len(columns['key'])} table rows"
            )
        data_root = Path(info["data"]) if info.get("data") else None
        index = cls(
            embeddings,
            tensors["keys"].numpy(),
            tensors["lonlat"].numpy(),
            columns,
            info,
            data_root,
        )
        if use_faiss:
            index._load_faiss(path)
        return index

    def _load_faiss(self, path: Path) -> None:
        faiss = _require_faiss()
        saved = path / FAISS_FILE
        if saved.is_file():
            self._faiss = faiss.read_index(str(saved))
        else:
            flat_index = faiss.IndexFlatL2 if self.distance == EUCLIDEAN else faiss.IndexFlatIP
            flat = flat_index(self.embeddings.shape[1])
            flat.add(self.embeddings.numpy())
            self._faiss = flat

    def __len__(self) -> int:
        return int(self.embeddings.shape[0])

    @property
    def embed_dim(self) -> int:
        """Embedding size."""
        return int(self.embeddings.shape[1])

    def check_model(self, model_path: str | os.PathLike, embed_dim: int | None = None) -> None:
        """Refuse a model other than the one the index was built with.

        Raises:
            SoundIndexError: Another embedding size or another model file's contents.
        """
        if embed_dim is not None and embed_dim != self.embed_dim:
            raise SoundIndexError(
                f"the index holds {self.embed_dim}-d embeddings but the model makes "
                f"{embed_dim}-d ones; query with the model the index was built with "
                f"({self.info.get('model', 'unknown')})"
            )
        expected = self.info.get("model_sha256")
        if expected and file_sha256(model_path) != expected:
            raise SoundIndexError(
                f"{model_path} is not the model the index was built with "
                f"({self.info.get('model', 'unknown')}): similarities between two models' "
                "embeddings mean nothing; query with that model or rebuild the index"
            )

    def check_encoding(self, model_path: str | os.PathLike, metadata) -> None:
        """Refuse a model whose spectrogram encoding is not the one the index was built in.

        An index written before encodings were recorded gets a warning (rebuild it).

        Raises:
            EncodingError: The encodings differ.
        """
        from backend.audio import check_encoding, model_encoding

        expected = model_encoding(metadata, str(model_path))
        found = self.info.get("spectrogram_encoding")
        if found is None:
            log.warning(
                "the sound index records no spectrogram encoding (built before encodings were "
                "recorded, possibly from a mix of JPGs and audio); rebuild it with "
                "python -m backend index"
            )
            return
        check_encoding(expected, found, "the sound index", str(model_path))

    def search(
        self,
        query: torch.Tensor | np.ndarray,
        top: int = 10,
        centre_lonlat: tuple[float, float] | None = None,
    ) -> list[SoundMatch]:
        """The ``top`` recordings closest to ``query`` ``[D]`` by the index's distance.

        A match's ``similarity`` is the cosine similarity, or minus the Euclidean
        distance for an index that ranks by it; higher is closer either way.

        Args:
            query: An embedding (normalised here for cosine ranking).
            top: How many to return.
            centre_lonlat: Where the query is, for distances (km).
        """
        from backend.metrics import haversine_km

        q = prepare(torch.as_tensor(query, dtype=torch.float32).flatten(), self.distance)
        if q.numel() != self.embed_dim:
            raise SoundIndexError(f"query has {q.numel()} dimensions, the index {self.embed_dim}")
        k = max(0, min(int(top), len(self)))
        if k == 0:
            return []
        if self._faiss is not None:
            found_scores, found = self._faiss.search(q.numpy()[None, :], k)
            if self.distance == EUCLIDEAN:  # FAISS gives squared distances
                found_scores = -np.sqrt(np.maximum(found_scores, 0.0))
            pairs = [
                (float(s), int(i)) for s, i in zip(found_scores[0], found[0], strict=True) if i >= 0
            ]
        else:
            with torch.inference_mode():
                closeness = prepared_scores(q[None, :], self.embeddings, self.distance)[0]
                values, indices = torch.topk(closeness, k)
            pairs = list(zip(values.tolist(), indices.tolist(), strict=True))
        rows = [i for _, i in pairs]
        distances: list[float | None] = [None] * len(rows)
        if centre_lonlat is not None and rows:
            d = haversine_km(self.lonlat[rows], np.asarray(centre_lonlat, np.float64)[None, :])
            distances = [float(v) for v in d]
        matches = []
        for rank, ((score, i), distance) in enumerate(zip(pairs, distances, strict=True), start=1):
            file = self.columns["file"][i]
            if file and self.root is not None and not os.path.isabs(file):
                file = str(self.root / file)
            matches.append(
                SoundMatch(
                    rank=rank,
                    similarity=score,
                    key=int(self.keys[i]),
                    title=self.columns["title"][i],
                    creator=self.columns["creator"][i],
                    licence=self.columns["licenseurl"][i],
                    file=file,
                    longitude=float(self.lonlat[i, 0]),
                    latitude=float(self.lonlat[i, 1]),
                    distance_km=distance,
                )
            )
        return matches

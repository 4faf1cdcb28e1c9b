"""The settings of training a classifier from labelled points or polygons (``train-from-labels``)."""

from __future__ import annotations

from dataclasses import dataclass

from backend.labels.sampling import DEFAULT_CAP, DEFAULT_DENSITY
from backend.transfer.finetuning import TRAIN_MODES

#: default tile side in pixels of the working resolution
DEFAULT_TILE_PX = 32
#: default block side in tiles (of :data:`DEFAULT_TILE_PX`)
DEFAULT_BLOCK_TILES = 4
#: tile sides, in pixels of the working resolution, that ``--tile-metres auto`` chooses among
TILE_CANDIDATES_PX = (16, 32, 64)
#: candidates smaller than this are dropped (as are those larger than the raster)
MIN_TILE_PX = 8
#: what the classifier's head sees: the trunk's pooled features, or those plus the
#: band values of the pixel under the sample (``hybrid``, the default)
HEADS = ("hybrid", "trunk")


def centre_window(tile_px: int) -> int:
    """Side of the centre window a hybrid head averages: the pixel under the sample.

    An odd tile has one centre pixel; an even tile's centre is the corner of four.
    """
    return 1 if tile_px % 2 else 2


@dataclass
class LabelsConfig:
    """Settings of :func:`train_from_labels` (the CLI's and the Processing algorithm's)."""

    raster: str
    labels: str
    field: str
    out: str
    #: ``random``, ``imagenet:PATH`` or an audiovisual/classifier model file
    init: str = "random"
    mode: str = "linear"
    #: ``hybrid``: the head sees the trunk's features and the centre pixel's bands;
    #: ``trunk``: the trunk's features only
    head: str = "hybrid"
    #: 1-based raster bands (``None``: all)
    bands: list[int] | None = None
    #: the layer of a multi-layer vector file (``None``: the first)
    layer: str | None = None
    #: the labels' CRS when the file has none (CSV) or to override it
    labels_crs: str | None = None
    #: tile side in ground metres (``None``: 32 pixels of the working resolution)
    tile_metres: float | None = None
    #: choose the tile side among :data:`TILE_CANDIDATES_PX` by nested spatially blocked
    #: cross-validation of the linear probe (``--tile-metres auto``; ``tile_metres`` unset)
    auto_tile: bool = False
    #: working resolution in metres per pixel (``None``: the raster's)
    resolution: float | None = None
    #: polygon sampling density (samples per km²) and the cap per polygon
    density: float = DEFAULT_DENSITY
    max_per_polygon: int = DEFAULT_CAP
    #: side of the split's blocks in metres (``None``: 4 tiles)
    block_metres: float | None = None
    folds: int = 4
    #: also run a random trunk, ImageNet (``imagenet`` set), a pixel random forest and a
    #: pixel logistic regression
    compare: bool = False
    #: an ImageNet state-dict file for ``compare``
    imagenet: str | None = None
    #: skip the cross-validation (only the final model)
    cross_validate: bool = True
    #: class value (or name) -> "#rrggbb", and class value -> display name (e.g. from a
    #: QGIS categorised renderer); other classes follow the land-cover colour rule
    class_colours: dict[str, str] | None = None
    class_labels: dict[str, str] | None = None
    seed: int = 0
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    #: trunk learning rate = ``lr`` x this, the same for every start (a fair ``--compare``)
    trunk_lr_factor: float = 1.0
    weight_decay: float = 1e-4
    l2: float | None = None
    precision: str = "auto"
    device: str = "auto"
    workers: int = 0

    def validate(self) -> None:
        """Raise ValueError naming the first bad setting."""
        if self.mode not in TRAIN_MODES:
            raise ValueError(f"--mode must be one of {', '.join(TRAIN_MODES)}, got {self.mode!r}")
        if self.head not in HEADS:
            raise ValueError(f"--head must be one of {', '.join(HEADS)}, got {self.head!r}")
        for name in ("tile_metres", "resolution", "block_metres"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"--{name.replace('_', '-')} must be positive, got {value}")
        if self.auto_tile and self.tile_metres is not None:
            raise ValueError(
                f"--tile-metres {self.tile_metres:g} and auto (choose the tile size by nested "
                "validation) together: give a tile side or auto, not both"
            )
        if self.folds < 2:
            raise ValueError(f"--folds must be at least 2, got {self.folds}")
        for name in ("epochs", "batch_size", "max_per_polygon"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1")
        if not self.density > 0:
            raise ValueError(f"--density must be positive, got {self.density}")
        if not self.lr > 0:
            raise ValueError("--lr must be positive")
        if not str(self.out).endswith(".safetensors"):
            raise ValueError(f"--out {self.out}: a model file name ending in .safetensors")

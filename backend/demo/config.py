"""The demo's settings: its sizes (``--size``) and one run's configuration."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path


@dataclass(frozen=True)
class DemoSize:
    """How big the demo is: data, training lengths and map detail."""

    name: str
    #: image/sound pairs
    pairs: int
    #: pair tile side, pixels at 0.5 m
    tile_px: int
    #: scene-set images per class
    scenes_per_class: int
    #: scene raster side, pixels at 0.5 m
    scene_px: int
    #: pretraining
    image_size: int
    epochs: int
    batch_size: int
    loss: str
    #: transfer table and classifier (scene images resized to this)
    transfer_image_size: int
    transfer_seeds: int
    transfer_epochs: int
    classifier_epochs: int
    #: side of one class-map / sound-map cell on the ground, metres
    map_cell_m: float
    #: spectrogram windows per recording in the sound index
    index_windows: int


#: the sizes ``--size`` offers. ``full`` learns clearly in under ten minutes on a
#: two-core CPU; ``tiny`` runs every step in about a minute, for CI.
SIZES: dict[str, DemoSize] = {
    "full": DemoSize(
        name="full",
        pairs=800,
        tile_px=256,
        scenes_per_class=40,
        scene_px=1024,
        image_size=96,
        epochs=10,
        batch_size=32,
        loss="infonce",
        transfer_image_size=64,
        transfer_seeds=3,
        transfer_epochs=8,
        classifier_epochs=10,
        map_cell_m=16.0,
        index_windows=4,
    ),
    # the same fields as "full", each spelt out so that a size reads on its own
    "tiny": DemoSize(
        name="tiny",
        pairs=96,
        tile_px=128,
        scenes_per_class=6,
        scene_px=256,
        image_size=64,
        epochs=2,
        batch_size=16,
        loss="infonce",
        transfer_image_size=48,
        transfer_seeds=1,
        transfer_epochs=1,
        classifier_epochs=1,
        map_cell_m=16.0,
        index_windows=2,
    ),
}
SOURCES = ("procedural", "real")


# Fields and checks shaped like TrainConfig's (backend/train.py), kept apart: a demo run
# chooses a size and a source; the sizes hold the training settings.
@dataclass
class DemoConfig:
    """Settings of one demo run (``python -m backend demo``)."""

    out: Path
    size: str = "full"
    #: ``procedural`` (generated here) or ``real`` (imagery and recordings from packages)
    source: str = "procedural"
    #: overrides of the size's pairs and pretraining epochs
    pairs: int | None = None
    epochs: int | None = None
    seed: int = 0
    device: str = "auto"
    #: data-loading processes of pretraining and threads of data generation (None: automatic)
    workers: int | None = None
    #: redo every step
    fresh: bool = False

    def validate(self) -> None:
        """Raise ValueError naming the first bad setting."""
        if self.size not in SIZES:
            raise ValueError(f"--size must be one of {', '.join(SIZES)}, got {self.size!r}")
        if self.source not in SOURCES:
            raise ValueError(f"--source must be one of {', '.join(SOURCES)}, got {self.source!r}")
        for name in ("pairs", "epochs"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"--{name} must be at least 1, got {value}")
        if self.seed < 0:
            raise ValueError(f"--seed must not be negative, got {self.seed}")
        if self.workers is not None and self.workers < 0:
            raise ValueError(f"--workers must not be negative, got {self.workers}")

    def resolved_size(self) -> DemoSize:
        """The size with ``--pairs`` and ``--epochs`` applied."""
        size = SIZES[self.size]
        if self.pairs is not None:
            size = replace(size, pairs=self.pairs)
        if self.epochs is not None:
            size = replace(size, epochs=self.epochs)
        return size

"""Training from a user's labels: labelled vector features over a raster -> a classifier.

- :mod:`~backend.labels.features`: reading labelled points/polygons from any OGR file.
- :mod:`~backend.labels.sampling`: samples (points, polygons at a density) and their tiles.
- :mod:`~backend.labels.split`: the spatially blocked k-fold split.
- :mod:`~backend.labels.training`: :func:`train_from_labels`, the whole run.
- :mod:`~backend.labels.report`: the accuracy report (JSON, HTML, PNG).
"""

from backend.labels.config import LabelsConfig
from backend.labels.training import LabelsResult, train_from_labels

__all__ = ["LabelsConfig", "LabelsResult", "train_from_labels"]

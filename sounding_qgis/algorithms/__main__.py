"""Write the Processing reference page: ``python -m sounding_qgis.algorithms [PAGE]``.

Starts a headless QGIS, builds every ``sounding:*`` algorithm and renders their help
(:func:`sounding_qgis.algorithms.help.reference_page`); without PAGE it prints the page.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from sounding_qgis.algorithms import ALGORITHMS
from sounding_qgis.algorithms.help import reference_page


def initialised_algorithms() -> list:
    """One initialised instance of every ``sounding:*`` algorithm, in the pipeline's order."""
    instances = []
    for cls in ALGORITHMS:
        algorithm = cls()
        algorithm.initAlgorithm()
        instances.append(algorithm)
    return instances


def main(argv: list[str] | None = None) -> int:
    """Write the reference page to the path given (default: print it)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qgis.core import QgsApplication

    application = QgsApplication([], False)
    application.initQgis()
    try:
        page = reference_page(initialised_algorithms())
    finally:
        application.exitQgis()
    args = sys.argv[1:] if argv is None else argv
    if args:
        Path(args[0]).write_text(page, encoding="utf-8")
    else:
        sys.stdout.write(page)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

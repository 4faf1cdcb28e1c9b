"""Every algorithm's help explains each parameter and links to its documentation page.

Runs on the algorithms as QGIS registers them (real headless QGIS), and checks the
generated page docs/reference/processing.md against them.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest
from qgis.core import QgsApplication

from sounding_qgis.algorithms import ALGORITHMS
from sounding_qgis.algorithms.help import (
    DOCS_BASE_URL,
    REFERENCE_PAGE,
    SHARED_PARAMETER_HELP,
    parameter_help,
    reference_page,
)

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
REGENERATE = "python -m sounding_qgis.algorithms docs/reference/processing.md"

pytestmark = pytest.mark.usefixtures("sounding_provider")


def _registered() -> list:
    """The registered instances, in the pipeline's order (ALGORITHMS)."""
    registry = QgsApplication.processingRegistry()
    algorithms = [registry.algorithmById(f"sounding:{cls.NAME}") for cls in ALGORITHMS]
    assert all(a is not None and a.parameterDefinitions() for a in algorithms)
    return algorithms


def _anchors(page: Path) -> set[str]:
    """The section anchors of a Markdown page: its ``## name`` headings, as GitHub and
    MkDocs both spell them when the heading is one lower-case word."""
    text = page.read_text(encoding="utf-8")
    return set(re.findall(r"^#{1,6} ([a-z0-9-]+)\s*$", text, flags=re.M))


def test_the_docs_base_is_the_plugins_repository():
    metadata = configparser.ConfigParser(interpolation=None)
    metadata.read(ROOT / "metadata.txt", encoding="utf-8")
    repository = metadata["general"]["repository"].rstrip("/")
    assert DOCS_BASE_URL == f"{repository}/blob/main/docs/"
    assert (DOCS / REFERENCE_PAGE).is_file()


def test_every_help_url_points_at_an_existing_page_and_section():
    for algorithm in _registered():
        url = algorithm.helpUrl()
        assert url.startswith(DOCS_BASE_URL), url
        page, _, anchor = url[len(DOCS_BASE_URL) :].partition("#")
        assert (DOCS / page).is_file(), f"{algorithm.name()}: {page} is not under docs/"
        assert anchor == algorithm.name()
        assert anchor in _anchors(DOCS / page), f"{page} has no section '{anchor}'"


def test_every_parameter_is_explained_in_the_help_panel():
    for algorithm in _registered():
        help_text = algorithm.shortHelpString()
        assert algorithm.helpUrl() in help_text, algorithm.name()
        for parameter in algorithm.parameterDefinitions():
            name = parameter.name()
            explanation = parameter_help(algorithm, name)
            assert len(explanation) > 20, f"{algorithm.name()}: {name} is not explained"
            assert f"<code>{name}</code>" in help_text, f"{algorithm.name()}: {name}"
            assert parameter.description() in help_text, f"{algorithm.name()}: {name}"


def test_no_explanation_is_left_for_a_parameter_that_is_gone():
    names = {p.name() for a in _registered() for p in a.parameterDefinitions()}
    for algorithm in _registered():
        own = {p.name() for p in algorithm.parameterDefinitions()}
        stale = set(algorithm.PARAMETER_HELP) - own
        assert not stale, f"{algorithm.name()} explains parameters it lacks: {stale}"
    assert set(SHARED_PARAMETER_HELP) <= names


def test_the_reference_page_is_generated_from_the_current_help():
    committed = (DOCS / REFERENCE_PAGE).read_text(encoding="utf-8")
    assert committed == reference_page(_registered()), f"stale: run {REGENERATE}"


def test_the_reference_page_lists_every_parameter_of_every_algorithm():
    page = reference_page(_registered())
    for algorithm in _registered():
        section = page.split(f"\n## {algorithm.name()}\n", 1)[1].split("\n## ", 1)[0]
        for parameter in algorithm.parameterDefinitions():
            assert f"| `{parameter.name()}` |" in section, (algorithm.name(), parameter.name())

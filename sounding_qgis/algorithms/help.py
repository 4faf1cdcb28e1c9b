"""The help of the ``sounding:*`` algorithms: every parameter explained, and a link to its page.

One home for what a Processing dialog's help panel shows and for the documentation
page ``docs/reference/processing.md``, which is generated from the same texts::

    python -m sounding_qgis.algorithms docs/reference/processing.md

(``tests/sounding_qgis/test_algorithm_help.py`` fails when the page is stale, when a
parameter has no explanation, or when a help link points at no page.) Each algorithm
class holds its own ``HELP``, ``HELP_NOTES`` and ``PARAMETER_HELP``; the parameters
several algorithms share (extent, device, bands...) are explained once here.
"""

from __future__ import annotations

import html

from sounding_qgis.i18n import tr, translatable

#: Where the documentation is read. The site has no public address of its own yet, so
#: the help links point at the Markdown pages in the repository (metadata.txt's
#: ``homepage``), which GitHub renders with their links and anchors.
DOCS_BASE_URL = "https://github.com/sounding-earth/sounding-earth-qgis/blob/main/docs/"
#: the page, under docs/, with one section per algorithm (its anchor: the algorithm's name)
REFERENCE_PAGE = "reference/processing.md"

#: the help panel's headings and its last line
PARAMETERS_TITLE = translatable("Parameters")
OUTPUTS_TITLE = translatable("Outputs")
DOCUMENTATION_LINE = translatable("Documentation: {link}")

#: the parameters that mean the same in every algorithm that has them
SHARED_PARAMETER_HELP = {
    "EXTENT": translatable(
        "Only this part of the raster is processed; it may be given in any CRS. Empty: the "
        "whole raster. An extent outside the raster is an error, and nothing is written."
    ),
    "RESOLUTION": translatable(
        "'the model': the raster is resampled to the ground resolution the model file "
        "records (when it records none, the raster's own is used and the log says so); "
        "'the raster': the model looks at the raster's own pixels."
    ),
    "STRIDE": translatable(
        "Distance between output pixels, in pixels of a tile: each output pixel is one "
        "tile's answer. 0: about an eighth of the tile for a classifier, one output pixel "
        "per tile for embeddings and soundscape maps. For a segmentation model, the central "
        "square each overlapping tile keeps (0: half the tile)."
    ),
    "BANDS": translatable(
        "The raster bands that feed the model, 1-based, in the model's band order and "
        "separated by commas, e.g. 3,2,1 to give a blue-green-red raster to an RGB model. "
        "Empty: the bands the model file records."
    ),
    "BATCH": translatable(
        "Tiles that go through the model at once: more is faster on a GPU and needs more memory."
    ),
    "DEVICE": translatable(
        "auto: the GPU (CUDA) when PyTorch sees one, else the CPU; cpu; cuda (an error on "
        "a machine without a CUDA GPU)."
    ),
    "SPECTROGRAMS": translatable(
        "Where the recordings' sounds are read from: decided by the folder and the model "
        "(default); only spectrograms/*.jpg (the release's JPG encoding; recordings without "
        "one are skipped); or only audio/ and the prepare cache (recordings without audio "
        "are skipped). A folder where some recordings have only a JPG and others only audio "
        "needs one of the last two."
    ),
    "SEED": translatable(
        "Seeds every random choice (initial weights, data order, augmentation, samples), "
        "so that a run can be repeated exactly."
    ),
}


def help_url(name: str) -> str:
    """The address of an algorithm's section of the Processing reference page."""
    return f"{DOCS_BASE_URL}{REFERENCE_PAGE}#{name}"


def parameter_help(algorithm, name: str) -> str:
    """The English explanation of one parameter of ``algorithm`` ("" when it has none)."""
    own = getattr(algorithm, "PARAMETER_HELP", {})
    return own.get(name) or SHARED_PARAMETER_HELP.get(name, "")


def _output_only(algorithm) -> list:
    """The outputs that are not also destination parameters (those are explained above)."""
    names = {p.name() for p in algorithm.parameterDefinitions()}
    return [o for o in algorithm.outputDefinitions() if o.name() not in names]


def help_html(algorithm) -> str:
    """The help panel of an (initialised) algorithm, translated: what it does, every
    parameter, the outputs, and the link to its documentation page.

    QGIS shows each line of the text as a paragraph.
    """

    def text(source: str) -> str:
        return html.escape(tr(source), quote=False)

    def label(definition) -> str:
        name = html.escape(definition.description(), quote=False)
        return f"<b>{name}</b> (<code>{definition.name()}</code>)"

    lines = [text(algorithm.HELP)]
    lines += [text(note) for note in getattr(algorithm, "HELP_NOTES", ())]
    lines.append(f"<b>{text(PARAMETERS_TITLE)}</b>")
    for parameter in algorithm.parameterDefinitions():
        explanation = text(parameter_help(algorithm, parameter.name()))
        lines.append(f"{label(parameter)}: {explanation}")
    outputs = _output_only(algorithm)
    if outputs:
        lines.append(f"<b>{text(OUTPUTS_TITLE)}</b>")
        lines += [label(output) for output in outputs]
    url = algorithm.helpUrl()
    link = f'<a href="{url}">{html.escape(url)}</a>'
    lines.append(text(DOCUMENTATION_LINE).format(link=link))
    return "\n".join(lines)


# --- the reference page ------------------------------------------------------------------


def _markdown(source: str) -> str:
    """``source`` safe inside a Markdown paragraph or table cell (code spans kept as they are)."""
    parts = source.split("`")
    for i in range(0, len(parts), 2):  # outside `code`
        for character in ("\\", "*", "_", "<", "|"):
            parts[i] = parts[i].replace(character, "\\" + character)
    return "`".join(parts)


def _default(parameter) -> str:
    """A parameter's default as the page shows it ("" for none)."""
    value = parameter.defaultValue()
    if value is None or value == "":
        return ""
    if parameter.type() == "enum":
        options = parameter.options()
        return options[value] if isinstance(value, int) and value < len(options) else str(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def algorithm_section(algorithm) -> str:
    """One algorithm's section of the reference page (English)."""
    name = algorithm.name()
    lines = [
        f"## {name}",
        "",
        f"**{algorithm.DISPLAY_NAME}** (`sounding:{name}`), group *{algorithm.GROUP}*.",
        "",
        _markdown(algorithm.HELP),
        "",
    ]
    for note in getattr(algorithm, "HELP_NOTES", ()):
        lines += [_markdown(note), ""]
    lines += ["| Parameter | Name | Default | What it does |", "| --- | --- | --- | --- |"]
    for parameter in algorithm.parameterDefinitions():
        label = _markdown(parameter.description())
        flags = parameter.flags()
        marks = [
            mark
            for flag, mark in (
                (parameter.FlagOptional, "optional"),
                (parameter.FlagAdvanced, "advanced"),
            )
            if flags & flag
        ]
        if marks:
            label += f" ({', '.join(marks)})"
        default = _markdown(_default(parameter))
        explanation = _markdown(parameter_help(algorithm, parameter.name()))
        lines.append(f"| {label} | `{parameter.name()}` | {default} | {explanation} |")
    outputs = _output_only(algorithm)
    if outputs:
        listed = "; ".join(f"{_markdown(o.description())} (`{o.name()}`)" for o in outputs)
        lines += ["", f"Also returned: {listed}."]
    return "\n".join(lines) + "\n"


PAGE_HEAD = """# Processing algorithms

<!-- Generated by `python -m sounding_qgis.algorithms docs/reference/processing.md`
from the algorithms' help texts (sounding_qgis/algorithms/); do not edit by hand. -->

The provider **Sounding Earth** (`sounding`) offers these algorithms in the Processing
toolbox, the graphical modeler, from Python
(`processing.run("sounding:classifyraster", {"INPUT": "scene.tif", ...})`) and from the
command line (`qgis_process run sounding:classifyraster -- INPUT=scene.tif ...`). Each
section is what the algorithm's help panel says, and the panel's link leads here. Every
algorithm reports progress, stops when cancelled (writing nothing) and returns its
outputs as layers. How they fit together: [The plugin in QGIS](../plugin.md).
"""


def reference_page(algorithms) -> str:
    """The whole page for these (initialised) algorithms, in their order."""
    sections = [algorithm_section(algorithm) for algorithm in algorithms]
    return PAGE_HEAD + "\n" + "\n".join(sections)

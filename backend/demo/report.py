"""The demo's HTML report: one self-contained page, readable without a terminal.

Pictures are inline PNGs; the recordings' excerpts lie beside the page in
``report_files/`` (OGG Vorbis) and play in the browser's own audio player. No
scripts, no web fonts, nothing fetched. Every figure taken from the summary is
wrapped in ``<span data-key="a/b/c" data-value="...">`` so a test (or a reader
of the source) can tell which number of ``summary.json`` it shows.
"""

from __future__ import annotations

import base64
import html
import json
import os
import shutil
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from backend.atomic import atomic_write_text
from backend.demo import figures
from backend.progress import NullProgress, Progress

#: the folder of audio excerpts beside report.html
REPORT_FILES = "report_files"
#: length of each audio excerpt, seconds
EXCERPT_S = 8.0
#: section ids, in page order (data-sources only when the data came with a sources.json)
SECTION_IDS = (
    "overview",
    "training",
    "retrieval",
    "transfer",
    "classification",
    "soundmap",
    "sounds-here",
    "outputs",
    "qgis",
)
DATA_SOURCES_ID = "data-sources"

_CSS = """
:root { --ink:#1d2733; --muted:#5b6775; --line:#dfe4ea; --accent:#1f6f9f; --good:#1b7a3a;
        --paper:#ffffff; --back:#f4f6f8; }
* { box-sizing: border-box; }
body { margin:0; background:var(--back); color:var(--ink);
       font:16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
header { background:#17324a; color:#fff; padding:28px 0 24px; }
header p { color:#c9d6e2; margin:6px 0 0; }
.wrap { max-width:1120px; margin:0 auto; padding:0 24px; }
nav { background:#fff; border-bottom:1px solid var(--line); position:sticky; top:0; z-index:1; }
nav a { display:inline-block; padding:10px 10px; color:var(--accent); text-decoration:none;
        font-size:14px; }
nav a:hover { text-decoration:underline; }
section { background:var(--paper); border:1px solid var(--line); border-radius:8px;
          margin:22px 0; padding:8px 26px 22px; }
h1 { margin:0; font-size:28px; }
h2 { font-size:22px; border-bottom:2px solid var(--line); padding-bottom:6px; }
h3 { font-size:17px; margin-bottom:6px; }
.cards { display:flex; flex-wrap:wrap; gap:14px; margin:18px 0 4px; }
.card { flex:1 1 220px; background:#fff; color:var(--ink); border-radius:8px; padding:12px 16px;
        border:1px solid var(--line); }
.card .big { font-size:26px; font-weight:650; color:var(--good); }
.card .small { color:var(--muted); font-size:13px; }
table { border-collapse:collapse; margin:10px 0; font-size:15px; }
th, td { border-bottom:1px solid var(--line); padding:6px 12px; text-align:left;
         vertical-align:middle; }
th.num, td.num { text-align:right; white-space:nowrap; }
thead th { background:#eef2f6; }
td.best { font-weight:650; color:var(--good); }
code { white-space:nowrap; }
.what { background:#f0f6fb; border-left:4px solid var(--accent); padding:8px 14px;
        margin:14px 0; color:#24384d; }
.muted { color:var(--muted); font-size:14px; }
img.figure { max-width:100%; height:auto; border:1px solid var(--line); border-radius:4px; }
.row { display:flex; flex-wrap:wrap; gap:22px; align-items:flex-start; }
.swatch { display:inline-block; width:14px; height:14px; border-radius:3px;
          border:1px solid #0003; vertical-align:-2px; margin-right:6px; }
audio { height:32px; width:260px; }
code { background:#eef2f6; padding:1px 5px; border-radius:4px; font-size:14px; }
ol li, ul li { margin:3px 0; }
footer { color:var(--muted); font-size:13px; padding:10px 0 40px; }
"""


# --------------------------------------------------------------------------- formatting


def percent(value: float | None, digits: int = 1) -> str:
    """``0.4531`` → ``"45.3 %"``."""
    return "–" if value is None else f"{100 * value:.{digits}f} %"


def rank(value: float | None) -> str:
    """A median rank, one decimal."""
    return "–" if value is None else f"{value:.1f}"


def kilometres(value: float | None) -> str:
    """A distance in km, one decimal."""
    return "–" if value is None else f"{value:.1f} km"


def number(value: float | None, digits: int = 3) -> str:
    """A plain number with ``digits`` decimals."""
    return "–" if value is None else f"{value:.{digits}f}"


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def fig(key: Sequence[str], value: Any, text: str) -> str:
    """A figure from the summary, tagged with where it comes from (``data-key``)."""
    return (
        f'<span class="fig" data-key="{_esc("/".join(key))}" '
        f'data-value="{_esc(json.dumps(value))}">{_esc(text)}</span>'
    )


def lookup(summary: dict[str, Any], key: str) -> Any:
    """The summary value a ``data-key`` names."""
    value: Any = summary
    for part in key.split("/"):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def _png_tag(data: bytes, alt: str) -> str:
    encoded = base64.b64encode(data).decode("ascii")
    return f'<img class="figure" alt="{_esc(alt)}" src="data:image/png;base64,{encoded}">'


# --------------------------------------------------------------------------- audio


def write_excerpt(source: str | os.PathLike, target: Path, seconds: float = EXCERPT_S) -> bool:
    """Write the middle ``seconds`` of a recording as OGG Vorbis; False if it has no audio."""
    import numpy as np
    import soundfile

    from backend.audio import SAMPLE_RATE, load_audio

    source = Path(source)
    if source.suffix.lower() in (".jpg", ".jpeg", ".npy") or not source.is_file():
        return False
    samples = np.asarray(load_audio(source), dtype=np.float32)
    length = int(seconds * SAMPLE_RATE)
    start = max(0, (len(samples) - length) // 2)
    excerpt = samples[start : start + length]
    peak = float(np.abs(excerpt).max()) if excerpt.size else 0.0
    if peak > 0.99:
        excerpt = excerpt * (0.99 / peak)
    soundfile.write(str(target), excerpt, SAMPLE_RATE, format="OGG", subtype="VORBIS")
    return True


def _audio_tag(relative: str | None) -> str:
    if not relative:
        return '<span class="muted">no audio</span>'
    return f'<audio controls preload="none" src="{_esc(relative)}"></audio>'


# --------------------------------------------------------------------------- sections


class _Shown:
    """Figures of one summary, formatted and tagged: ``shown("classification/cells")``."""

    def __init__(self, summary: dict[str, Any]) -> None:
        self.summary = summary

    def __call__(self, key: str, fmt: Callable[[Any], str] = str) -> str:
        value = lookup(self.summary, key)
        return fig(key.split("/"), value, fmt(value))


def _seconds(value: float) -> str:
    return f"{value:.0f} s"


def _minutes(value: float) -> str:
    return f"{value / 60:.1f}"


_STEP_TITLES = {
    "data": "generate the demo data (pairs, scene set, scene raster)",
    "spectrograms": "decode every recording into the log-mel cache",
    "pretrain": "pretrain image and audio encoders on the pairs (no labels)",
    "retrieval": "cross-modal retrieval on the test split",
    "transfer": "transfer table on the scene set",
    "classifier": "fine-tune the land-cover classifier",
    "classify": "classify the scene raster",
    "index": "build the sound index",
    "query": "find the recordings that sound like one extent",
    "soundmap": "map where one recording belongs",
    "report": "write summary.json and this report",
}


def _overview(summary: dict[str, Any], pretrained_row: str, random_row: str) -> str:
    shown = _Shown(summary)
    titles = dict(_STEP_TITLES)
    if summary["source"] == "real":
        titles["data"] = "gather the real demo data (imagery and recordings from packages)"
    items = "".join(
        f"<li>{_esc(titles.get(name, name))} "
        f'<span class="muted">({shown(f"seconds/steps/{name}", _seconds)})</span></li>'
        for name in summary["seconds"]["steps"]
    )
    rows = summary["transfer"]["rows"]
    gain = ""
    if "linear" in rows.get(pretrained_row, {}) and "linear" in rows.get(random_row, {}):
        gain = f"""
  <div class="card"><div class="small">linear probe on the scene set</div>
    <div class="big">{shown(f"transfer/rows/{pretrained_row}/linear/mean", percent)}</div>
    <div class="small">random trunk: {shown(f"transfer/rows/{random_row}/linear/mean", percent)}
    </div></div>"""
    i2s = "retrieval/{}/image_to_sound/median_rank"
    return f"""
<section id="overview"><h2>What this demo did</h2>
<p>A model learned what places look like from what they sound like, with no labels: it saw
{shown("data/pairs")} aerial tiles, each with the sound recorded at its centre, and learned to
tell which sound belongs to which tile (Heidler et al., <i>Self-supervised Audiovisual
Representation Learning for Remote Sensing Data</i>, arXiv 2108.00688). This report shows what
that model can then do.</p>
<div class="cards">
  <div class="card"><div class="small">image→sound median rank of the true recording</div>
    <div class="big">{shown(i2s.format("pretrained"), rank)}</div>
    <div class="small">of {shown("retrieval/n")} · untrained
    {shown(i2s.format("untrained"), rank)} · chance {shown(i2s.format("chance"), rank)}</div>
  </div>
  <div class="card"><div class="small">class map, overall accuracy</div>
    <div class="big">{shown("classification/overall_accuracy", percent)}</div>
    <div class="small">always-majority baseline
    {shown("classification/majority_baseline", percent)}</div></div>{gain}
</div>
<h3>Steps</h3><ol>{items}</ol>
<p class="muted">Settings: size <code>{_esc(summary["size"])}</code>, data
<code>{_esc(summary["source"])}</code>, seed {summary["seed"]}, device
<code>{_esc(summary["device"])}</code>. Steps whose settings did not change are reused when
the demo runs again; <code>--fresh</code> redoes them all.</p>
</section>"""


_LOSS_NAMES = {"infonce": "symmetric InfoNCE", "triplet": "batch triplet"}


def _training(out: Path, summary: dict[str, Any]) -> str:
    shown = _Shown(summary)
    p = summary["pretrain"]
    curves = out / summary["paths"]["curves"]
    picture = (
        _png_tag(curves.read_bytes(), "training loss and validation median rank per epoch")
        if curves.is_file()
        else '<p class="muted">(no curves.png)</p>'
    )
    speed = p.get("pairs_per_s")
    return f"""
<section id="training"><h2>Training curves</h2>
{picture}
<div class="what"><b>What you see.</b> Left: the loss on the training pairs, epoch by epoch.
Right: for the validation pairs, the median rank of each tile's own recording among all
validation recordings (and the other way round); epoch 0 is the untrained model and the dashed
line is chance. Falling curves mean the encoders learned which sounds go with which imagery,
without any labels.</div>
<p class="muted">{_esc(_LOSS_NAMES.get(p["loss"], p["loss"]))} loss,
{shown("pretrain/epochs")} epochs, batch {p["batch_size"]}, {p["image_size"]} px tiles at
{shown("pretrain/resolution_m", lambda v: f"{v:.2f}")} m per pixel, final training loss
{shown("pretrain/final_train_loss", number)}{f", about {speed:.0f} pairs/s" if speed else ""}.
</p>
</section>"""


_RETRIEVAL_ROWS = (
    ("R@1", "R@1 (true match ranked first)", percent),
    ("R@5", "R@5", percent),
    ("R@10", "R@10", percent),
    ("median_rank", "median rank (lower is better)", rank),
    ("D@1", "D@1: distance to the top match", kilometres),
    ("D@10", "D@10: nearest of the top 10", kilometres),
)
#: the same figures in the paper's convention (summary keys retrieval/MODEL/paper/DIRECTION/KEY)
_PAPER_RETRIEVAL_ROWS = (
    ("R@10", "R@10 (rank < 10: ranks 1-9)", percent),
    ("R@100", "R@100 (rank < 100)", percent),
    ("median_rank", "median rank", rank),
)
_MODELS = ("pretrained", "untrained", "chance")


def _retrieval(summary: dict[str, Any]) -> str:
    shown = _Shown(summary)
    blocks = []
    for direction, title in (
        ("image_to_sound", "Image → sound: find a tile's recording"),
        ("sound_to_image", "Sound → image: find a recording's tile"),
    ):
        body = ['<tr><th colspan="4">top-k convention</th></tr>']
        groups = [("", _RETRIEVAL_ROWS)]
        if "paper" in summary["retrieval"].get("pretrained", {}):
            groups.append(("paper/", _PAPER_RETRIEVAL_ROWS))
        for prefix, rows in groups:
            if prefix:
                body.append('<tr><th colspan="4">paper convention</th></tr>')
            for metric, label, fmt in rows:
                cells = "".join(
                    f'<td class="num{" best" * (model == "pretrained")}">'
                    f"{shown(f'retrieval/{model}/{prefix}{direction}/{metric}', fmt)}</td>"
                    for model in _MODELS
                )
                body.append(f"<tr><td>{_esc(label)}</td>{cells}</tr>")
        head = "".join(f'<th class="num">{m}</th>' for m in _MODELS)
        blocks.append(
            f"<div><h3>{_esc(title)}</h3><table><thead><tr><th>metric</th>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>"
        )
    return f"""
<section id="retrieval"><h2>Retrieval: which sound belongs to which image</h2>
<p>Every one of the {shown("retrieval/n")} test pairs (never seen in training) is a query; the
gallery is all test recordings (or all test tiles). The untrained model has the same
architecture and the same random initialisation as the pretrained one; chance is a model that
ranks at random.</p>
<div class="row">{"".join(blocks)}</div>
<div class="what"><b>What you see.</b> R@k is the share of queries whose true partner is among
the k closest; the median rank is where the true partner typically lands. D@k is how far (in
km) the nearest of the top k results was recorded from the query's true place: small when the
model finds recordings of the same kind of place. The pretrained column should beat both
others clearly; the untrained one should sit near chance. The <i>paper convention</i> rows
are computed as the paper's own evaluation code does, so they can be set beside its
published figures: ranks count from 1, R@k counts ranks below k (R@100 counts ranks 1-99),
and sound → image distances are divided by each image's mean distance to all
recordings.</div>
</section>"""


_MODES = (("linear", "Linear probe (frozen trunk)"), ("finetune", "Fine-tuning (whole network)"))


def _transfer(summary: dict[str, Any]) -> str:
    shown = _Shown(summary)
    t = summary["transfer"]
    head = "".join(f'<th class="num">{_esc(title)}</th>' for _, title in _MODES)
    body = []
    for label, row in t["rows"].items():
        cells = []
        for mode, _ in _MODES:
            if mode not in row:
                cells.append('<td class="num">–</td>')
                continue
            best = max(r[mode]["mean"] for r in t["rows"].values() if mode in r)
            key = f"transfer/rows/{label}/{mode}"
            cells.append(
                f'<td class="num{" best" * (row[mode]["mean"] == best)}">'
                f"{shown(key + '/mean', percent)} ± {shown(key + '/std', percent)}</td>"
            )
        body.append(f"<tr><td>{_esc(label)}</td>{''.join(cells)}</tr>")
    seeds = t["seeds"]
    return f"""
<section id="transfer"><h2>Transfer: land-cover classification</h2>
<table><thead><tr><th>initialisation</th>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>
<p class="muted">Overall accuracy on the scene set ({len(t["classes"])} classes:
{_esc(", ".join(t["classes"]))}), {shown("transfer/n_train")} training and
{shown("transfer/n_test")} test images at {t["image_size"]} px, mean ± standard deviation over
{shown("transfer/seeds")} seed{"s" * (seeds != 1)}; fine-tuning {t["epochs"]} epochs. A frozen
pretrained trunk gives the same features for every seed, so its linear probe has no spread.
Per-run reports and confusion matrices: <code>transfer/runs/</code>.</p>
<div class="what"><b>What you see.</b> The paper's claim in miniature: with the trunk frozen
(linear probe), where only its features count, a trunk pretrained on nothing but image–sound
pairs classifies land cover better than a randomly initialised one. Fine-tuning lets every
weight adapt to the labels, so on a small, easy scene set like this one the two starting
points end up close.</div>
</section>"""


def _legend(names: Sequence[str], colours: dict[str, str]) -> str:
    return " ".join(
        f'<span><span class="swatch" style="background:{_esc(colours.get(n, "#888"))}"></span>'
        f"{_esc(n)}</span>"
        for n in names
    )


def _classification(out: Path, summary: dict[str, Any], label_names, label_colours) -> str:
    shown = _Shown(summary)
    c = summary["classification"]
    k = summary["classifier"]
    colours = dict(zip(k["class_names"], k["class_colors"], strict=False))
    colours.update(label_colours)
    picture = _png_tag(
        figures.class_map_figure(
            out / summary["paths"]["scene"],
            out / summary["paths"]["scene_labels"],
            out / summary["paths"]["classes"],
            label_names,
            [colours.get(n, "#888888") for n in label_names],
            k["class_names"],
            [colours.get(n, "#888888") for n in k["class_names"]],
        ),
        "imagery, ground truth and predicted classes",
    )
    rows = "".join(
        f"<tr><td>{_legend([name], colours)}</td>"
        f'<td class="num">{shown(f"classification/per_class/{name}/accuracy", percent)}</td>'
        f'<td class="num">{shown(f"classification/per_class/{name}/cells")}</td></tr>'
        for name in c["per_class"]
    )
    cell = f"{c['cell_m']:.0f} m" if c.get("cell_m") else "one tile stride"
    tile = f"{c['tile_m']:.0f} m" if c.get("tile_m") else "one tile"
    return f"""
<section id="classification"><h2>Class map</h2>
{picture}
<p>Overall accuracy <b>{shown("classification/overall_accuracy", percent)}</b> over
{shown("classification/cells")} map cells (always answering the most common class would score
{shown("classification/majority_baseline", percent)}). Legend:
{_legend(label_names, colours)}</p>
<table><thead><tr><th>true class</th><th class="num">accuracy</th><th class="num">cells</th>
</tr></thead><tbody>{rows}</tbody></table>
<div class="what"><b>What you see.</b> The classifier (the pretrained trunk fine-tuned on the
scene set, test accuracy there {shown("classifier/test_accuracy", percent)}) labels every
{cell} cell of the scene raster from the {tile} tile centred on it. Accuracy is measured
{_esc(c["method"])}; per-class accuracy is the share of a class's cells labelled correctly.
Mistakes gather along region borders, where a tile sees two kinds of land cover.</div>
</section>"""


def _soundmap(out: Path, summary: dict[str, Any], label_colours, audio: dict[str, str]) -> str:
    shown = _Shown(summary)
    s = summary["soundmap"]
    rec = s["recording"]
    title = f"similarity to “{rec['title']}” ({rec['class']})"
    picture = _png_tag(
        figures.soundmap_figure(
            out / summary["paths"]["scene"], out / summary["paths"]["soundmap"], title
        ),
        "sound map over the imagery",
    )
    means = s["mean_similarity_by_class"]
    bars = _png_tag(
        figures.similarity_bars(means, label_colours, "mean similarity per true class"),
        "mean similarity per ground-truth class",
    )
    rows = "".join(
        f"<tr><td>{_legend([name], label_colours)}</td>"
        f'<td class="num">{shown(f"soundmap/mean_similarity_by_class/{name}", number)}</td></tr>'
        for name in sorted(means, key=lambda n: -means[n])
    )
    return f"""
<section id="soundmap"><h2>Sound map: where does this recording belong?</h2>
<p>Recording: <b>{_esc(rec["title"])}</b> by {_esc(rec["creator"])} (test split, hidden class
<b>{shown("soundmap/recording/class")}</b>, key {rec["key"]})
{_audio_tag(audio.get(str(rec["key"])))}</p>
{picture}
<div class="row"><div>{bars}</div><div><table><thead><tr><th>true class</th>
<th class="num">mean similarity</th></tr></thead><tbody>{rows}</tbody></table>
<p>Highest over <b>{shown("soundmap/best_class")}</b>; similarity ranges from
{shown("soundmap/minimum", number)} to {shown("soundmap/maximum", number)}.</p></div></div>
<div class="what"><b>What you see.</b> The audio encoder turns the recording into one
embedding; the image encoder embeds every tile of the scene; the heat map (bright = similar,
drawn semi-transparently over the imagery) is their cosine similarity. Where the model learned
the link between sound and land cover, the bright areas are the land cover the recording was
made in.</div>
</section>"""


def _sounds_here(out: Path, summary: dict[str, Any], audio: dict[str, str]) -> str:
    shown = _Shown(summary)
    q = summary["query"]
    thumbnail = _png_tag(
        figures.extent_thumbnail(
            out / summary["paths"]["scene"],
            q["extent"],
            f"{q['side_m']:.0f} m extent, {100 * q['class_share']:.0f} % {q['class']}",
        ),
        "the queried extent on the scene",
    )
    rows = "".join(
        f'<tr><td class="num">{m["rank"]}</td><td>{_esc(m["title"] or "(untitled)")}</td>'
        f"<td>{_esc(m['creator'])}</td><td>{_esc(m.get('class') or '?')}</td>"
        f'<td class="num">{shown(f"query/matches/{i}/similarity", number)}</td>'
        f'<td class="num">{shown(f"query/matches/{i}/distance_km", kilometres)}</td>'
        f"<td>{_audio_tag(audio.get(str(m['key'])))}</td></tr>"
        for i, m in enumerate(q["matches"])
    )
    tiles = q["tiles"]
    return f"""
<section id="sounds-here"><h2>Sounds here: the recordings closest to one extent</h2>
<div class="row"><div>{thumbnail}</div><div style="flex:1 1 520px">
<p>The extent (outlined) is {shown("query/class_share", lambda v: percent(v, 0))}
<b>{shown("query/class")}</b> in the ground truth. Its {tiles} tile{"s" * (tiles != 1)}
{"were" if tiles != 1 else "was"} embedded with the image encoder and compared with every
recording in the sound index; these are the closest ({shown("query/same_class")} of
{len(q["matches"])} were recorded in {_esc(q["class"])}):</p>
<table><thead><tr><th class="num">#</th><th>title</th><th>creator</th><th>hidden class</th>
<th class="num">similarity</th><th class="num">distance</th><th>listen</th></tr></thead>
<tbody>{rows}</tbody></table>
</div></div>
<div class="what"><b>What you see.</b> This is what the plugin's “Sounds here” panel does for
the current map extent: it lists the recordings whose sound embedding is closest to the
imagery's, with their similarity and how far from the extent's centre they were recorded. The
demo's recordings lie around a dozen towns across Europe and its scene raster elsewhere, so
here the distances say little; the hidden class shows whether the matches fit.</div>
</section>"""


def _outputs(summary: dict[str, Any]) -> str:
    p = summary["paths"]
    entries = (
        ("pretrained_model", "audiovisual model (image + audio encoders; plugin default)"),
        ("classifier", "land-cover classifier (plugin default)"),
        ("sound_index", "sound index (plugin default)"),
        ("scene", "scene raster (imagery, UTM 33N, 0.5 m)"),
        ("scene_labels", "its ground-truth classes"),
        ("classes", "class map (+ classes.qml style)"),
        ("soundmap", "sound map (+ soundmap.qml style)"),
        ("query", "the “sounds here” answer"),
        ("retrieval", "retrieval figures"),
        ("transfer_table", "transfer table (Markdown; JSON and runs beside it)"),
        ("metrics", "training metrics per epoch"),
        ("pairs", "image/sound pairs in the SoundingEarth layout"),
        ("scenes", "scene-classification set, one folder per class"),
        ("summary", "every figure of this report, as JSON"),
    )
    rows = "".join(
        f"<tr><td><code>{_esc(p[key])}</code></td><td>{_esc(text)}</td></tr>"
        for key, text in entries
        if key in p
    )
    return f"""
<section id="outputs"><h2>Outputs</h2>
<p>All paths are relative to <code>{_esc(p["output"])}</code>.</p>
<table><thead><tr><th>path</th><th>what it is</th></tr></thead><tbody>{rows}</tbody></table>
</section>"""


def _qgis(summary: dict[str, Any]) -> str:
    p = summary["paths"]
    return f"""
<section id="qgis"><h2>Open it in QGIS</h2>
<ol>
<li>Install the plugin: <code>make package</code>, then in QGIS <i>Plugins → Manage and
Install Plugins… → Install from ZIP</i> with <code>dist/sounding_qgis.zip</code> (see
<code>docs/plugin.md</code> for the plugin repository and its Python packages).</li>
<li>Add <code>{_esc(p["scene"])}</code> (<i>Layer → Add Layer → Add Raster Layer…</i>, or drag
it onto the map), then <code>{_esc(p["classes"])}</code> and <code>{_esc(p["soundmap"])}</code>:
their <code>.qml</code> styles load with them, so the classes show in their colours and names
and the sound map as a colour ramp.</li>
<li>The plugin's model settings default to <code>demo-output/{_esc(p["classifier"])}</code>,
<code>demo-output/{_esc(p["pretrained_model"])}</code> and
<code>demo-output/{_esc(p["sound_index"])}/</code> of the repository (for a demo written elsewhere, set
the environment variable <code>SOUNDING_EARTH_DEMO_OUTPUT</code> to its folder before starting
QGIS, or pick the files once in the dialogs). With the scene layer selected,
<b>Classify imagery layer…</b> makes a new class map; <b>Sounds here</b> opens the panel that
lists (and plays) the recordings closest to the current map view as you pan;
<b>Soundscape map…</b> maps where a recording of your choice belongs.</li>
<li>The same operations are in the Processing toolbox under “Sounding Earth”, and on the
command line, e.g. <code>python -m backend classify --raster {_esc(p["scene"])} --model
{_esc(p["classifier"])} --out classes.tif</code>.</li>
</ol>
</section>"""


def _data_sources(sources: list[dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td><code>{_esc(s.get('file', ''))}</code></td><td>{_esc(s.get('package', ''))}</td>"
        f"<td>{_esc(s.get('origin', ''))}</td><td>{_esc(s.get('licence', ''))}</td></tr>"
        for s in sources
    )
    return f"""
<section id="{DATA_SOURCES_ID}"><h2>Data sources</h2>
<table><thead><tr><th>file</th><th>package</th><th>origin</th><th>licence</th></tr></thead>
<tbody>{rows}</tbody></table>
</section>"""


# --------------------------------------------------------------------------- the page


def _excerpts(summary: dict[str, Any], folder: Path) -> dict[str, str]:
    """Write the excerpts the page plays; ``{key: relative path}``."""
    wanted: dict[str, str] = {}
    for match in summary["query"]["matches"]:
        wanted[str(match["key"])] = match["file"]
    recording = summary["soundmap"]["recording"]
    wanted[str(recording["key"])] = recording["file"]
    written = {}
    for key, source in wanted.items():
        target = folder / f"{key}.ogg"
        if write_excerpt(source, target):
            written[key] = f"{REPORT_FILES}/{target.name}"
    return written


def render_report(
    out: Path,
    summary: dict[str, Any],
    audio: dict[str, str],
    *,
    pretrained_row: str,
    random_row: str,
) -> str:
    """The report page as HTML text.

    Args:
        out: the demo's output folder (pictures are drawn from its rasters).
        summary: every figure shown (``summary.json``).
        audio: ``{recording key: excerpt path relative to the page}``.
        pretrained_row: the transfer table's row of the pretrained trunk ...
        random_row: ... and of the randomly initialised one, compared in the overview.
    """
    from backend.demo.scoring import read_class_list

    label_names, label_colours = read_class_list(out / "data" / "classes.json")
    sources_path = out / "data" / "sources.json"
    sources = (
        json.loads(sources_path.read_text(encoding="utf-8")) if sources_path.is_file() else None
    )
    sections = [
        _overview(summary, pretrained_row, random_row),
        _training(out, summary),
        _retrieval(summary),
        _transfer(summary),
        _classification(out, summary, label_names, label_colours),
        _soundmap(out, summary, label_colours, audio),
        _sounds_here(out, summary, audio),
        _outputs(summary),
        _qgis(summary),
    ]
    nav_titles = [
        ("overview", "Overview"),
        ("training", "Training"),
        ("retrieval", "Retrieval"),
        ("transfer", "Transfer"),
        ("classification", "Class map"),
        ("soundmap", "Sound map"),
        ("sounds-here", "Sounds here"),
        ("outputs", "Outputs"),
        ("qgis", "QGIS"),
    ]
    if sources is not None:
        sections.append(_data_sources(sources))
        nav_titles.append((DATA_SOURCES_ID, "Data sources"))
    nav = "".join(f'<a href="#{i}">{_esc(t)}</a>' for i, t in nav_titles)
    source = "procedural demo data" if summary["source"] == "procedural" else "real demo data"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sounding Earth demo report</title>
<style>{_CSS}</style></head>
<body>
<header><div class="wrap"><h1>Sounding Earth: demo report</h1>
<p>Self-supervised audiovisual learning on aerial imagery and geotagged sounds, run end to end
on {_esc(source)} ({_esc(summary["size"])} size,
{_Shown(summary)("seconds/total", _minutes)} minutes of computing on
{_esc(summary["device"])}).</p></div></header>
<nav><div class="wrap">{nav}</div></nav>
<main class="wrap">{"".join(sections)}</main>
<footer class="wrap">Written by <code>python -m backend demo</code>. Every figure on this page
is also in <code>summary.json</code>.</footer>
</body></html>
"""


def write_report(
    out: str | os.PathLike,
    summary: dict[str, Any],
    *,
    pretrained_row: str,
    random_row: str,
    progress: Progress | None = None,
) -> Path:
    """Write ``OUT/report.html`` and its audio excerpts in ``OUT/report_files/``.

    ``summary``, ``pretrained_row`` and ``random_row`` are as in :func:`render_report`.

    The excerpts are written to a temporary folder that replaces the old one when
    complete; the page is written atomically last.

    Returns:
        The page's path.
    """
    progress = progress or NullProgress()
    out = Path(out)
    staged = out / f".{REPORT_FILES}.{uuid.uuid4().hex[:8]}.partial"
    staged.mkdir(parents=True)
    try:
        progress.progress(0.1, "audio excerpts")
        audio = _excerpts(summary, staged)
        progress.progress(0.5, "pictures")
        page = render_report(
            out, summary, audio, pretrained_row=pretrained_row, random_row=random_row
        )
        final = out / REPORT_FILES
        if final.exists():
            shutil.rmtree(final)
        staged.rename(final)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    path = out / "report.html"
    atomic_write_text(path, page)
    progress.progress(1.0, "report.html")
    return path

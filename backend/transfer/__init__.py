"""Transfer learning on scene classification: linear probe, fine-tuning and few-shot, over seeds.

An initialisation (random, ImageNet weights from a local file, or a pretrained
model file) is judged by how well its image trunk classifies a scene dataset:
``linear`` trains a logistic-regression head on frozen features, ``finetune``
trains the whole network, ``fewshot`` assigns each test image to the nearest
class centroid of k labelled examples per class. :func:`train_classifier` makes
a classifier model file for the raster engine and the plugin.

Modules, by concept:

- :mod:`~backend.transfer.inits`: where a trunk's weights come from.
- :mod:`~backend.transfer.protocols`: the product's protocol and the paper's preset.
- :mod:`~backend.transfer.embedding`: a linear head on an audiovisual embedding (paper).
- :mod:`~backend.transfer.advance`: ADVANCE audiovisual scene classification.
- :mod:`~backend.transfer.datasets`: scene datasets, their split, normalisation and loaders.
- :mod:`~backend.transfer.probes`: frozen features, the linear probe, few-shot.
- :mod:`~backend.transfer.finetuning`: the training core shared with training from labels.
- :mod:`~backend.transfer.metrics`: classification metrics.
- :mod:`~backend.transfer.experiments`, :mod:`~backend.transfer.table`: runs over seeds, the table.
- :mod:`~backend.transfer.reports`: report text, JSON and confusion-matrix PNG.
- :mod:`~backend.transfer.colors`, :mod:`~backend.transfer.classifier_file`: classifier files.
- :mod:`~backend.transfer.segmentation`: DeepLabv3+ land-cover segmentation (the paper's
  DeepGlobe task) and its segmentation model files (``transfer --task segmentation``).
"""

from backend.transfer.classifier_file import ClassifierResult, train_classifier
from backend.transfer.colors import (
    default_class_colors,
    parse_class_colors,
    parse_hex_color,
)
from backend.transfer.datasets import (
    NORMALIZATIONS,
    PreparedScenes,
    TransferConfig,
    dataset_statistics,
    make_loader,
    prepare_scenes,
)
from backend.transfer.experiments import (
    MODE_TITLES,
    MODES,
    FeatureCache,
    choose_trunk_lr,
    run_transfer,
)
from backend.transfer.finetuning import (
    TRAIN_MODES,
    TrainSettings,
    finetune_model,
    finetune_paper,
    fit_classifier,
    predict,
    scene_augment,
    training_settings,
)
from backend.transfer.inits import (
    InitSpec,
    build_classifier,
    build_transfer_model,
    check_init,
    parse_init,
)
from backend.transfer.metrics import classification_metrics, mean_std
from backend.transfer.probes import (
    L2_GRID,
    extract_features,
    fewshot_predict,
    fit_linear_probe,
    fit_logistic,
    nearest_centroid_predict,
    stratified_shots,
)
from backend.transfer.protocols import DEFAULT_MODES, PAPER_SETTINGS, settle, transfer_config
from backend.transfer.reports import format_result, format_table, plot_confusion, write_result
from backend.transfer.table import transfer_table

__all__ = [
    "L2_GRID",
    "MODES",
    "MODE_TITLES",
    "NORMALIZATIONS",
    "TRAIN_MODES",
    "ClassifierResult",
    "FeatureCache",
    "InitSpec",
    "PreparedScenes",
    "TrainSettings",
    "TransferConfig",
    "DEFAULT_MODES",
    "PAPER_SETTINGS",
    "build_classifier",
    "build_transfer_model",
    "choose_trunk_lr",
    "finetune_paper",
    "fit_logistic",
    "nearest_centroid_predict",
    "settle",
    "stratified_shots",
    "transfer_config",
    "check_init",
    "classification_metrics",
    "dataset_statistics",
    "default_class_colors",
    "extract_features",
    "fewshot_predict",
    "finetune_model",
    "fit_classifier",
    "fit_linear_probe",
    "format_result",
    "format_table",
    "make_loader",
    "mean_std",
    "parse_class_colors",
    "parse_hex_color",
    "parse_init",
    "plot_confusion",
    "predict",
    "prepare_scenes",
    "run_transfer",
    "scene_augment",
    "train_classifier",
    "training_settings",
    "transfer_table",
    "write_result",
]

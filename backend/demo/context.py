"""What the demo's steps share: the output folder's layout and the results of earlier steps."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.data.demo import DemoFiles
from backend.demo.config import DemoConfig, DemoSize
from backend.demo.steps import StepBook, StepOutcome
from backend.progress import Progress

#: where the plugin looks by default, relative to the demo's output folder
PRETRAINED_MODEL = "pretrain/model.safetensors"
CLASSIFIER_MODEL = "classifier.safetensors"
SOUND_INDEX = "index"

#: gives each step a progress context, called with a title like ``"[3/11] pretrain"``
StepProgress = Callable[[str], AbstractContextManager[Progress]]


@dataclass
class DemoContext:
    """What the steps share."""

    config: DemoConfig
    size: DemoSize
    out: Path
    book: StepBook
    step_progress: StepProgress
    device: str
    results: dict[str, StepOutcome] = field(default_factory=dict)
    #: CPU threads each step run in this session was given
    threads: dict[str, int] = field(default_factory=dict)

    @property
    def data(self) -> Path:
        return self.out / "data"

    @property
    def data_files(self) -> DemoFiles:
        """The files of the demo data (step 1 writes them into :attr:`data`)."""
        return DemoFiles.in_folder(self.data)

    @property
    def model(self) -> Path:
        return self.out / PRETRAINED_MODEL

    @property
    def classifier(self) -> Path:
        return self.out / CLASSIFIER_MODEL

    def after(self, *steps: str) -> dict[str, str | None]:
        """The run ids of the steps a step reads from (part of its settings)."""
        return {name: self.book.run_id(name) for name in steps}

    def result(self, name: str) -> dict[str, Any]:
        """The figures step ``name`` returned (this run's or an earlier run's)."""
        return self.results[name].result

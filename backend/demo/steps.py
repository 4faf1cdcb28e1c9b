"""Step stamps: which pipeline steps are complete, and with which settings (``OUT/.steps.json``).

A step is reused when its stamp's key (a hash of its settings and of the runs
of the steps it depends on) matches and its outputs exist. The stamp is written
only after the step's outputs are complete, and removed before a step starts
again, so a killed run never leaves a half-made step that looks complete.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.atomic import atomic_write_text

#: the stamp file inside the output folder
STAMP_FILE = ".steps.json"
#: bump when a step's outputs change meaning, so older stamps are not trusted
STAMP_VERSION = 1


def settings_key(settings: dict[str, Any]) -> str:
    """A short stable hash of JSON-able settings."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass
class StepOutcome:
    """A step's figures, and whether they were reused from an earlier run."""

    name: str
    result: dict[str, Any]
    seconds: float
    reused: bool


class StepBook:
    """The stamps of one output folder."""

    def __init__(self, out: Path, fresh: bool = False) -> None:
        """Read ``out/.steps.json``; with ``fresh`` forget every stamp (on disk too)."""
        self.out = Path(out)
        self.path = self.out / STAMP_FILE
        self.stamps: dict[str, dict[str, Any]] = {} if fresh else self._read()
        if fresh and self.path.exists():
            self._write()

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("version") != STAMP_VERSION:
            return {}
        steps = data.get("steps")
        return steps if isinstance(steps, dict) else {}

    def _write(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(
            self.path,
            json.dumps({"version": STAMP_VERSION, "steps": self.stamps}, indent=2) + "\n",
        )

    def run_id(self, name: str) -> str | None:
        """The id of the completed run of step ``name`` (changes whenever it is redone)."""
        stamp = self.stamps.get(name)
        return stamp.get("run") if stamp else None

    def complete(self, name: str, settings: dict[str, Any], outputs: Sequence[str]) -> bool:
        """Whether step ``name`` is stamped with these settings and its outputs exist."""
        stamp = self.stamps.get(name)
        return bool(
            stamp
            and stamp.get("key") == settings_key(settings)
            and all((self.out / output).exists() for output in outputs)
        )

    def run(
        self,
        name: str,
        settings: dict[str, Any],
        outputs: Sequence[str],
        work: Callable[[], dict[str, Any]],
    ) -> StepOutcome:
        """Reuse step ``name`` when complete, else run ``work`` and stamp its result.

        Args:
            name: the step's name.
            settings: everything its outputs depend on (include the run ids of the
                steps it reads from, see :meth:`run_id`).
            outputs: files or folders (relative to the output folder) it makes.
            work: does the step; returns its JSON-able figures.
        """
        if self.complete(name, settings, outputs):
            stamp = self.stamps[name]
            return StepOutcome(name, stamp["result"], float(stamp["seconds"]), True)
        if self.stamps.pop(name, None) is not None:
            self._write()
        started = time.perf_counter()
        result = work()
        seconds = time.perf_counter() - started
        # round-trip through JSON so a reused result and a fresh one look the same
        result = json.loads(json.dumps(result, default=_plain))
        self.stamps[name] = {
            "key": settings_key(settings),
            "run": uuid.uuid4().hex[:12],
            "settings": json.loads(json.dumps(settings, default=str)),
            "outputs": list(outputs),
            "seconds": round(seconds, 2),
            "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "result": result,
        }
        self._write()
        return StepOutcome(name, result, round(seconds, 2), False)

    def note(self, name: str, **facts: Any) -> None:
        """Add facts about how a completed step ran (not part of its key) to its stamp."""
        self.stamps[name].update(facts)
        self._write()


def _plain(value: Any) -> Any:
    """JSON fallback for numpy scalars and paths."""
    if hasattr(value, "item"):
        return value.item()
    return str(value)

"""Processing algorithms of the ``sounding`` provider; each calls one backend function."""

from __future__ import annotations

ALGORITHMS: list[type] = []

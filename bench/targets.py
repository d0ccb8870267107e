"""One way for the benchmarks to print their targets: each line ends ``met`` or ``MISSED``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """A measured figure beside its goal, e.g. ``Target("sign ours/floor", "1.05×", "≤ 1.3×", True)``."""

    name: str
    value: str
    goal: str
    met: bool


def report_targets(targets: Iterable[Target], *, smoke: bool, emit: Callable[[str], None] = print) -> list[str]:
    """Print one line per target and return the names of the missed ones.

    A smoke run has too few iterations to judge figures: the caller must not fail
    on what this returns then, and the last line says so, so a MISSED there is
    read as a hint, not a verdict.
    """
    targets = list(targets)
    width = max((len(t.name) for t in targets), default=0)
    for t in targets:
        emit(f"target {t.name:{width}}  {t.value:>10}  (goal {t.goal}):  {'met' if t.met else 'MISSED'}")
    missed = [t.name for t in targets if not t.met]
    if missed and smoke:
        emit(f"smoke run: too few iterations to judge, not failing on MISSED {', '.join(missed)}")
    return missed

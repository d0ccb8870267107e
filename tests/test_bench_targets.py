"""The benchmarks' target lines: a miss reads MISSED, a smoke run reports it without failing."""

from __future__ import annotations

from bench.targets import Target, report_targets

TARGETS = [Target("ratio", "0.71", "≥ 0.60", True), Target("p99", "38.3 ms", "< 25 ms", False)]


def test_each_target_line_ends_met_or_missed() -> None:
    lines: list[str] = []
    missed = report_targets(TARGETS, smoke=False, emit=lines.append)
    assert missed == ["p99"]
    assert lines[0].startswith("target ratio") and lines[0].endswith(":  met")
    assert lines[1].startswith("target p99") and lines[1].endswith(":  MISSED")
    assert "38.3 ms" in lines[1] and "< 25 ms" in lines[1]
    assert len(lines) == 2


def test_a_smoke_run_says_it_does_not_judge() -> None:
    lines: list[str] = []
    assert report_targets(TARGETS, smoke=True, emit=lines.append) == ["p99"]  # the caller decides not to fail
    assert lines[-1] == "smoke run: too few iterations to judge, not failing on MISSED p99"


def test_all_met_prints_no_verdict_line() -> None:
    lines: list[str] = []
    assert report_targets(TARGETS[:1], smoke=True, emit=lines.append) == []
    assert len(lines) == 1

"""``manage.py antom_reconcile``: payments of a date range against Antom's API (and a report file), a summary
table, and an exit status that is non-zero while differences remain.

Without ``--apply`` nothing local changes; with it, each payment that differs is synced
(:func:`antom_django.services.sync_payment`) and only what is left counts.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from django.utils import timezone

from antom_django.client.errors import AntomError
from antom_django.reconcile.check import check_payments, payments_created
from antom_django.reconcile.compare import KIND_LABELS, Kind
from antom_django.reconcile.export import export_lines
from antom_django.reconcile.reports import ReportError, read_report_file
from antom_django.reconcile.settlement import Entry, compare_report

DIFFERENCES_EXIT = 1
USAGE_EXIT = 2
BAR_WIDTH = 30


def a_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


class ProgressBar:
    """``\\r[#####     ] 120/300`` on a terminal; nothing otherwise."""

    def __init__(self, stream: OutputWrapper) -> None:
        self.stream = stream
        self.enabled = stream.isatty()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        filled = BAR_WIDTH * done // total
        end = "\n" if done >= total else ""
        self.stream.write(f"\r[{'#' * filled}{' ' * (BAR_WIDTH - filled)}] {done}/{total}", ending=end)
        self.stream.flush()


def table(rows: list[tuple[str, int]], heading: tuple[str, str]) -> str:
    """A plain two-column table, the counts right-aligned."""
    width = max(len(label) for label, _ in [heading, *((label, 0) for label, _ in rows)])
    digits = max(len(heading[1]), *(len(str(n)) for _, n in rows)) if rows else len(heading[1])
    lines = [f"{heading[0]:<{width}}  {heading[1]:>{digits}}", f"{'-' * width}  {'-' * digits}"]
    lines += [f"{label:<{width}}  {n:>{digits}}" for label, n in rows]
    return "\n".join(lines)


class Command(BaseCommand):
    help = (
        "Reconcile payments created in a date range (UTC days, both included) against Antom: one inquiryPayment "
        "each, differences listed and counted. --apply syncs what differs; --report compares an Antom report file "
        "(CSV or XLSX, UTF-8 or GBK). Exit status 1 while differences remain, 2 for bad arguments or files."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--since", type=a_date, help="first day, YYYY-MM-DD (without it: --report only, over the file's days)"
        )
        parser.add_argument("--until", type=a_date, help="last day, YYYY-MM-DD (default: today)")
        parser.add_argument("--apply", action="store_true", help="sync each payment that differs (changes local state)")
        parser.add_argument("--report", metavar="FILE", help="also compare this Antom report file")
        parser.add_argument("--no-api", action="store_true", help="with --report: do not ask Antom's API")
        parser.add_argument(
            "--export", metavar="FILE", help="also write the period's CSV export (payments, captures, refunds)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        since, until = options["since"], options["until"] or timezone.now().date()
        if options["no_api"] and not options["report"]:
            raise CommandError("--no-api needs --report", returncode=USAGE_EXIT)
        # --report alone compares the file over its own days; with --since, over the range given.
        use_api = not options["no_api"] and since is not None
        if since is None and (not options["report"] or options["export"]):
            raise CommandError("--since is required (YYYY-MM-DD), unless only --report is given", returncode=USAGE_EXIT)
        if since is not None and since > until:
            raise CommandError(f"--since {since} is after --until {until}", returncode=USAGE_EXIT)
        remaining = 0
        if use_api:
            remaining += self.against_api(since, until, apply=options["apply"])
        if options["report"]:
            remaining += self.against_report(options["report"], (since, until) if options["since"] else None)
        if options["export"]:
            self.write_export(options["export"], since, until)
        if remaining:
            self.stderr.write(f"{remaining} difference(s) remain.")
            sys.exit(DIFFERENCES_EXIT)

    def against_api(self, since: date, until: date, *, apply: bool) -> int:
        payments = payments_created(since, until)
        total = payments.count()
        self.stdout.write(f"Checking {total} payment(s) created {since} – {until} against Antom.")
        bar = ProgressBar(self.stderr)
        try:
            run = check_payments(payments.iterator(chunk_size=200), total=total, apply=apply, progress=bar)
        except AntomError as exc:
            raise CommandError(f"cannot ask Antom: {exc}", returncode=USAGE_EXIT) from exc
        for d in run.differences:
            self.stdout.write(f"  {d.payment_request_id}  {d.subject}: {d.kind.label} (ours {d.ours}; Antom {d.antom})")
        counts = run.counts()
        rows = [(str(KIND_LABELS[kind]), counts[kind]) for kind in Kind]
        rows.append(("Total", len(run.differences)))
        self.stdout.write("")
        self.stdout.write(table(rows, ("Difference", "Count")))
        note = f"; {run.synced} synced" if apply else ""
        self.stdout.write(f"{run.checked} payment(s) checked{note}.")
        return len(run.differences)

    def against_report(self, path: str, period: tuple[date, date] | None) -> int:
        try:
            report = read_report_file(path)
            result = compare_report(report, period)
        except (ReportError, ValueError) as exc:
            raise CommandError(f"{path}: {exc}", returncode=USAGE_EXIT) from None
        start, end = result.period
        self.stdout.write(f"Report {path} ({report.format}, {report.encoding}), {start} – {end}:")
        sections: list[tuple[str, list[Entry]]] = [
            ("Settled by Antom, unknown to us", result.unknown),
            ("Recorded by us, not settled by Antom", result.unsettled),
            ("Amounts that differ", result.amounts),
        ]
        for heading, entries in sections:
            for e in entries:
                where = f"line {e.line}: " if e.line else ""
                self.stdout.write(
                    f"  {heading}: {where}{e.type} {e.request_id} (ours {e.ours or '-'}; Antom {e.antom or '-'}) {e.note}"
                )
        rows = [(heading, len(entries)) for heading, entries in sections]
        rows += [("Matched", result.matched), *((f"Not compared: {r}", n) for r, n in sorted(result.skipped.items()))]
        self.stdout.write("")
        self.stdout.write(table(rows, ("Report", "Count")))
        return len(result.unknown) + len(result.unsettled) + len(result.amounts)

    def write_export(self, path: str, since: date, until: date) -> None:
        try:
            with open(path, "w", encoding="utf-8", newline="") as out:
                count = -1
                for line in export_lines(since, until):
                    out.write(line)
                    count += 1
        except OSError as exc:
            raise CommandError(f"cannot write {path}: {exc.strerror or exc}", returncode=USAGE_EXIT) from None
        self.stdout.write(f"Exported {count} row(s) to {path}.")

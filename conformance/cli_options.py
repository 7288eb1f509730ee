"""Command-line options that several commands share (``run``, ``client``, ``report``), made
once so that they read and behave the same everywhere."""

from __future__ import annotations

import click

CASE_TIMEOUT = click.option(
    "--case-timeout",
    type=click.FloatRange(0.1, 3600),
    default=30.0,
    show_default=True,
    help="Seconds a whole case may take before it is an ERROR.",
)

FAIL_ON = click.option(
    "--fail-on",
    type=click.Choice(["must", "should", "may"]),
    default="must",
    show_default=True,
    help="The lowest requirement level whose FAIL (or regression) sets the exit status.",
)

TRANSCRIPTS = click.option(
    "--transcripts",
    type=click.Choice(["failures", "all"]),
    default="failures",
    show_default=True,
    help="Whose wire transcripts the reports keep: every case that did not PASS, or all cases.",
)

NO_PROGRESS = click.option("--no-progress", is_flag=True, help="No progress bar.")

BASELINE = click.option(
    "--baseline",
    "baseline_path",
    type=click.Path(dir_okay=False),
    help="YAML file of FAILs expected per target (per client); only other FAILs fail the run.",
)

SHARD = click.option(
    "--shard",
    metavar="K/N",
    help="Run only the K-th of N shards of the cases (split by a stable hash of the case id).",
)

SUMMARY_MD = click.option(
    "--summary-md",
    type=click.Path(dir_okay=False),
    help="Also write the Markdown summary to this file ($GITHUB_STEP_SUMMARY is appended to anyway).",
)

ALLOW_ERRORS = click.option(
    "--allow-errors",
    is_flag=True,
    help="Exit 0 even when a case ended in ERROR or a target (a client) could not be reached "
    "(exit 3 otherwise).",
)

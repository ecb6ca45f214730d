"""Options and input/output checks shared by the ``workout risk`` commands.

Light imports only (start-up time, as in :mod:`commands.risk`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from commands.options import int_option, stack_options
from commands.output import format_option
from solver.core.atomic import check_writable
from solver.domain import DEFAULT_DPD


def chart_path(png: str | None, no_png: bool, out: str | None, default: str) -> Path | None:
    """Where the chart goes: ``--png``, else next to ``--out``, else ``default`` in the cwd."""
    if no_png:
        return None
    if png:
        return Path(png)
    if out:
        return Path(out).with_suffix(".png")
    return Path(default)


def check_outputs(inputs: dict[str, Any], *outputs: tuple[str, Any, bool]) -> None:
    """Refuse, before any work, outputs that cannot be written or that are inputs.

    ``outputs`` are (option, path or None, is a directory) in the order checked; two
    outputs may not be one file either (issue 15).
    """
    seen: dict[str, Any] = {}
    for option, path, directory in outputs:
        if path is None:
            continue
        check_writable(path, option=option, inputs=inputs, outputs=seen, directory=directory)
        seen[option] = path


def table_source(
    path: Any, what: str, *, uci: bool | None = None, data_dir: str | None = None
) -> Any:
    """The table a command reads: ``path`` (a file, as a ``Path``, or a database's
    ``BookSource`` from :func:`~commands.sources.history_options`) or, in the commands
    with ``--uci`` (``uci`` not ``None``), the shared UCI file when it is set."""
    from solver.core.sources import BookSource

    if uci:
        from solver.risk.uci import require_uci_csv

        if path:
            raise click.UsageError(f"give either {what} or --uci, not both")
        return require_uci_csv(data_dir)
    if not path:
        shared = "" if uci is None else "; or --uci to use the shared UCI credit-card data"
        raise click.UsageError(
            f"missing {what} (a file, or --db URL with --table or --query{shared})"
        )
    if isinstance(path, BookSource):
        return path
    from solver.risk.uci import refuse_lending_club_file

    refuse_lending_club_file(path)
    return Path(path)


def default_dpd_option(text: str) -> Any:
    """``--default-dpd``: the dpd at which a history's account is in default (issue 18)."""
    return int_option("--default-dpd", 1, 720, DEFAULT_DPD, text)


DATA_DIR_OPTION = click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    help="Shared data directory (default $WORKOUT_DATA_DIR or ../shared/data).",
)


def chart_options(
    png_help: str = "Chart path (default: next to --out, with the extension .png).",
    no_png_help: str = "Do not draw the chart.",
    format_detail: str = "",
) -> Callable[[Any], Any]:
    """``--png PATH``, ``--no-png`` and ``--format table|json|csv`` (the last options of a
    command; ``format_detail`` says what json and csv hold here)."""
    return stack_options(
        click.option("--png", type=click.Path(dir_okay=False), help=png_help),
        click.option("--no-png", is_flag=True, help=no_png_help),
        format_option(format_detail),
    )


# confidence level of interval estimates, shared by the commands that report intervals
confidence_option = click.option(
    "--confidence",
    type=float,
    default=0.95,
    show_default=True,
    help="Confidence level of the intervals, in (0, 1).",
)

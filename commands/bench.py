"""``workout bench``: benchmark instance sets (parse, call, format)."""

from __future__ import annotations

from pathlib import Path

import click

from commands.common import SEED, TIME_LIMIT, TIME_LIMIT_HELP


@click.group("bench")
def bench() -> None:
    """Run benchmark instance sets with reference values and a baseline."""


@bench.command("gap")
@click.option(
    "--instances",
    type=click.Path(path_type=Path),
    default=None,
    help="A GAP file or a directory searched recursively (default: the OR-Library and "
    "Yagiura sets under $WORKOUT_DATA_DIR/gap).",
)
@click.option(
    "--time-limit",
    type=TIME_LIMIT,
    default=10.0,
    show_default=True,
    help="Seconds per instance, for the solver and for the CP-SAT baseline." + TIME_LIMIT_HELP,
)
@click.option("--quick", is_flag=True, help="A few instances of each kind with a 2 s limit (CI).")
@click.option("--no-baseline", is_flag=True, help="Skip the plain CP-SAT baseline.")
@click.option("--family", "families", multiple=True, help="Only these families (repeatable).")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Solver seed (>= 0).")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the per-instance results (.csv, .parquet or .xlsx).",
)
def gap(
    instances: Path | None,
    time_limit: float,
    quick: bool,
    no_baseline: bool,
    families: tuple[str, ...],
    seed: int,
    workers: int,
    out: Path | None,
) -> int:
    """Generalized Assignment Problem benchmark (OR-Library / Chu-Beasley / Yagiura).

    Prints per instance the objective, proven bound, gap to the best known value, time
    and OK, then averages by family against the plain CP-SAT baseline run in the same
    process with the same time limit, and whether each acceptance target is met.
    """
    from rich.table import Table

    from commands.common import console
    from solver.errors import InputError
    from solver.orlib import (
        QUICK_INSTANCES,
        default_instance_paths,
        load_instances,
        run_gap_benchmark,
        summarise_gap_benchmark,
    )

    if out is not None:
        from solver.atomic import check_writable
        from solver.io import output_format

        output_format(out)
        check_writable(out, inputs={"--instances": instances})
    paths = [instances] if instances is not None else default_instance_paths()
    if not paths or (instances is not None and not instances.exists()):
        raise InputError(
            f"no GAP instances found at {instances or 'the data directory'} (set WORKOUT_DATA_DIR)"
        )
    selected = load_instances(paths[0] if len(paths) == 1 else paths)
    if quick:
        selected = [i for i in selected if i.name in QUICK_INSTANCES]
        time_limit = min(time_limit, 2.0)
    if families:
        selected = [i for i in selected if i.family in families]
    if not selected:
        raise InputError("no GAP instances selected")
    con = console(min_width=140)

    def show(row: dict) -> None:
        base = ""
        if "baseline_gap_to_best" in row:
            base = f"  baseline {row['baseline_objective']:.0f} ({row['baseline_gap_to_best']:+.3%}, {row['baseline_status']})"
        con.print(
            f"{row['instance']:<10} {row['family']:<11} obj {row['objective']:>9.0f} bound {row['bound']:>10.1f} "
            f"best {row['best_known']:>8.0f} gap-to-best {row['gap_to_best']:+.3%} "
            f"{row['time_s']:5.1f}s {'OK ' if row['ok'] else 'NOT'} {row['status']}{base}",
            highlight=False,
        )

    results = run_gap_benchmark(
        selected,
        time_limit=time_limit,
        seed=seed,
        workers=workers,
        baseline=not no_baseline,
        on_result=show,
    )
    summary, verdicts = summarise_gap_benchmark(results)
    table = Table(title=f"Averages by family ({time_limit:g} s per instance)", title_justify="left")
    for col in summary.columns:
        table.add_column(col, justify="left" if col == "family" else "right")
    for row in summary.to_dict(orient="records"):
        table.add_row(*(_cell(k, v) for k, v in row.items()))
    con.print(table)
    for line in verdicts:
        con.print(line, highlight=False)
    if out is not None:
        from solver.io import write_table

        write_table(results, out, sheet_name="gap")
    return 0


def _cell(key: str, value) -> str:
    if isinstance(value, str):
        return value
    if "gap" in key:
        return f"{value:.3%}"
    if key.endswith("time_s"):
        return f"{value:.2f}"
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"

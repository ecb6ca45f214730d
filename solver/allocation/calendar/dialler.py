"""The dialler folder (``workout calendar --dialler-dir``): one CSV per calling team, written
with the calendar ``--out`` as one set (docs/calendar.md, "The dialler folder").

* :func:`check_dialler_dir` -- refuse, before any work, a folder that cannot be written or a
  team file that would replace the calendar or an input;
* :func:`write_with_dialler` -- every team file and the calendar: all replaced, or none;
* :func:`others_note` -- the warning naming the folder's CSV files this run did not write.

Moved from ``commands/calendar.py`` (session 25): writing the files as one set is a rule of
the outputs, not of the command line.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from solver.core.atomic import atomic_paths, check_writable
from solver.core.messages import first_named

__all__ = ["DiallerFiles", "check_dialler_dir", "others_note", "team_file", "write_with_dialler"]


def team_file(directory: Path, team: str) -> Path:
    """A team's dialler file: ``DIR/NAME.csv`` (the teams file refuses names that are no
    plain file name: :func:`solver.allocation.teams.name_problem`)."""
    return directory / f"{team}.csv"


def check_dialler_dir(
    directory: Path,
    out: Path,
    teams: Iterable[str],
    inputs: Mapping[str, str | os.PathLike[str] | None],
) -> None:
    """Refuse, before any work, a ``--dialler-dir`` that cannot be written, or a team file
    of it that is the calendar ``--out`` or one of the command's ``inputs`` (one would
    replace the other).

    Every check is :func:`solver.core.atomic.check_writable`'s (the one rule of an output
    that may be written), on the folder and on each team file; the messages name
    ``--dialler-dir``, the folder and the team.

    Raises
    ------
    InputError
        Naming the option, the folder, the team file and what is wrong.
    """
    check_writable(directory, option="--dialler-dir", inputs=inputs, directory=True)
    for team in teams:
        check_writable(
            team_file(directory, team),
            option=f"--dialler-dir {directory}: team {team!r}'s dialler file",
            inputs=inputs,
            outputs={"--out": out},
        )


@dataclass(frozen=True)
class DiallerFiles:
    """What :func:`write_with_dialler` wrote: the team files (``written``) and the names of
    the folder's other CSV files (``others``, sorted), which a dialler would load too."""

    written: list[Path]
    others: list[str]


def write_with_dialler(
    out: Path, calendar: pd.DataFrame, directory: Path, tables: Mapping[str, pd.DataFrame]
) -> DiallerFiles:
    """The dialler folder's team CSVs (``tables``: team -> its dialler table) and the
    calendar ``out``, written as one set: all replaced, or none.

    Decision (session 24 review: a second week's run wrote 2 of the 5 team files and left
    last week's 3, which a dialler loading the folder would call): every calling team of
    the teams file gets its file every run, the header alone when it has no calls, so a
    team's file is always this calendar's list. Nothing is deleted: a CSV this run did not
    write (a team since removed from the teams file, or a user's own file) is returned in
    ``others`` and named in a warning (:func:`others_note`) instead. The scenario folder's
    manifest (solver.scenarios.report) was not reused: its removal is tied to the
    scenario's fixed file names, and with a file for every team only a renamed team's file
    can be left, which the warning names.

    Decision (second session 24 review: each file was atomic but the set was not, and the
    calendar was written first, so an interrupted run left this week's calendar and some
    teams' files beside last week's others): every file is staged first
    (:func:`solver.core.atomic.atomic_paths`) and all are renamed only once all are
    written, the team files before the calendar, so a failed or interrupted run changes
    nothing, and only a file system failing between two renames can leave a mix, with the
    calendar the old one. The team files have no byte-order mark: a dialler reads them,
    not Excel (``bom=False``; ``WORKOUT_CSV_BOM`` does not apply); the calendar is written
    by its extension as ``--out`` always is.
    """
    # looked up at call time, so a test can make one write fail (tests/test_s24_dial.py)
    from solver.core import writers

    teams = {team_file(directory, team): table for team, table in tables.items()}
    with atomic_paths(*teams, out) as staged:
        for path, table in zip(staged, teams.values(), strict=False):
            writers.write_table(table, path, bom=False)
        writers.write_table(calendar, staged[-1], sheet_name="calendar")
    written = list(teams)
    mine = {path.name for path in written}
    others = sorted(p.name for p in directory.glob("*.csv") if p.name not in mine)
    return DiallerFiles(written=written, others=others)


def others_note(directory: Path, others: list[str]) -> str | None:
    """The warning naming the folder's CSV files this calendar did not write (the first
    :func:`~solver.core.messages.first_named`), or None when there are none."""
    if not others:
        return None
    shown = first_named(others)
    return (
        f"--dialler-dir {directory} also holds {len(others)} CSV file(s) this "
        f"calendar did not write ({shown}): a dialler loading the folder would call them; "
        "remove them if they are an earlier calendar's"
    )

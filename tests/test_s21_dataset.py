"""A dataset ``--out`` (a folder of Parquet parts) never deletes a folder it did not write.

Issue s21: ``plan-portfolio book.csv --out DIR`` and ``risk score ... --out DIR`` replaced
``DIR`` and everything in it (the input book included); an existing folder named like a
file (``scores.csv``) was filled with parts; and ``risk score`` of a payment history
refused a folder ``--out`` that it accepts as a file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from solver.engines.local import LocalEngine
from solver.errors import InputError

TINY = Path(__file__).parent / "data" / "portfolio" / "tiny.csv"


def _run(*argv: object) -> int:
    from cli import workout
    from commands.common import run_cli

    return run_cli(workout, [str(a) for a in argv])


def _parts(k: int) -> list[str]:
    """The part names of a k-partition dataset (SPEC §10 layout, written out here)."""
    return [f"part-{i:05d}.parquet" for i in range(k)]


def _listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _same_table(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """A small generated book's payment history and a history-v1 model fitted on it."""
    root = tmp_path_factory.mktemp("history")
    assert _run("generate", "portfolio", "--n", 200, "--history", 12, "--out",
                root / "book.csv", "--quiet") == 0  # fmt: skip
    path = root / "book_history.csv"
    model = root / "ew_history.toml"
    assert _run("risk", "fit", path, "--out", model, "--no-png", "--quiet") == 0
    return path, model


def test_plan_portfolio_refuses_a_folder_holding_the_input_and_other_files(tmp_path, capsys):
    """The reviewer's case: exit 2 naming the folder and the input; every file survives."""
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / "keep.txt").write_text("keep\n")
    book = folder / "portfolio.csv"
    book.write_bytes(TINY.read_bytes())
    before = _listing(folder)
    assert _run("plan-portfolio", book, "--out", folder, "--jobs", 2, "--quiet") == 2
    err = capsys.readouterr().err
    assert f"--out {folder}" in err and "another folder" in err and str(book) in err
    assert _listing(folder) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]  # no staging left


def test_a_folder_with_other_files_is_refused_before_any_work(tmp_path, capsys):
    """A non-dataset file in the folder: exit 2 naming it, 'remove'; nothing written."""
    folder = tmp_path / "plans"
    folder.mkdir()
    (folder / "notes.md").write_text("mine\n")
    (folder / "part-00000.parquet").write_bytes(b"not mine either")
    before = _listing(folder)
    assert _run("plan-portfolio", TINY, "--out", folder, "--quiet") == 2
    err = capsys.readouterr().err
    assert f"--out {folder}" in err and "notes.md" in err and "remove" in err
    assert _listing(folder) == before and sorted(p.name for p in tmp_path.iterdir()) == ["plans"]


def test_risk_score_refuses_a_folder_with_other_files(tmp_path, capsys):
    """`risk score --out DIR` with a foreign file in DIR: exit 2 before the model is read."""
    folder = tmp_path / "ds5"
    folder.mkdir()
    (folder / "keep.txt").write_text("keep\n")
    model = tmp_path / "ew.toml"
    model.write_text("# read only after the outputs are checked\n")
    uci = tmp_path / "uci.csv"
    uci.write_text("ID\n1\n")
    code = _run("risk", "score", uci, "--ew-model", model, "--out", folder, "--quiet")
    assert code == 2
    err = capsys.readouterr().err
    assert f"--out {folder}" in err and "keep.txt" in err
    assert _listing(folder) == {"keep.txt": b"keep\n"}


def test_an_earlier_dataset_and_an_empty_folder_are_replaced(tmp_path):
    """Parts of an earlier run are replaced (no stale part left); an empty folder is filled."""
    folder = tmp_path / "plans"
    assert _run("plan-portfolio", TINY, "--out", folder, "--partitions", 3, "--quiet") == 0
    assert sorted(p.name for p in folder.iterdir()) == _parts(3)
    first = pd.read_parquet(folder)
    assert _run("plan-portfolio", TINY, "--out", folder, "--partitions", 2, "--quiet") == 0
    assert sorted(p.name for p in folder.iterdir()) == _parts(2)
    _same_table(pd.read_parquet(folder), first)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _run("plan-portfolio", TINY, "--out", empty, "--partitions", 2, "--quiet") == 0
    assert sorted(p.name for p in empty.iterdir()) == _parts(2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "plans"]


def test_a_part_of_the_dataset_read_is_not_deleted(tmp_path, capsys):
    """Input `DIR/part-00000.parquet` with `--out DIR`: exit 2, the dataset kept as it was."""
    folder = tmp_path / "book"
    assert _run("plan-portfolio", TINY, "--out", folder, "--partitions", 2, "--quiet") == 0
    before = _listing(folder)
    part = folder / "part-00000.parquet"
    assert _run("plan-portfolio", part, "--out", folder, "--quiet") == 2
    err = capsys.readouterr().err
    assert str(part) in err and "another folder" in err
    assert _listing(folder) == before


@pytest.mark.parametrize("command", ["plan-portfolio", "risk score"])
def test_an_existing_folder_with_a_file_extension_is_a_directory_error(tmp_path, capsys, command):
    """`--out adir.csv` naming a folder: the 'is a directory' error of every command."""
    folder = tmp_path / "adir.csv"
    folder.mkdir()
    if command == "plan-portfolio":
        argv: list[object] = ["plan-portfolio", TINY]
    else:
        model = tmp_path / "ew.toml"
        model.write_text("# read only after the outputs are checked\n")
        argv = ["risk", "score", TINY, "--ew-model", model]
    assert _run(*argv, "--out", folder, "--quiet") == 2
    message = f"'--out': File '{folder}' is a directory."
    assert message in capsys.readouterr().err
    assert list(folder.iterdir()) == []
    # the message a command without dataset outputs gives for that path
    assert _run("generate", "portfolio", "--n", 5, "--out", folder, "--quiet") == 2
    assert message in capsys.readouterr().err


def _noop(frame: pd.DataFrame) -> pd.DataFrame:
    return frame


def test_engine_refuses_a_foreign_folder_and_a_file_added_during_the_run(tmp_path):
    """map_partitions: a foreign folder is refused up front, and a file put in the folder
    while the run works makes it fail at publication, the file kept."""
    frame = pd.read_csv(TINY)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "a.txt").write_text("a")
    with pytest.raises(InputError, match="a.txt"):
        LocalEngine().map_partitions(_noop, frame, partitions=2, out=foreign)
    assert _listing(foreign) == {"a.txt": b"a"}

    out = tmp_path / "out"
    LocalEngine().map_partitions(_noop, frame, partitions=2, out=out)

    def drop_a_file(done: int, total: int) -> None:
        (out / "late.txt").write_text("late")

    with pytest.raises(InputError, match="late.txt"):
        LocalEngine().map_partitions(_noop, frame, partitions=3, out=out, progress=drop_a_file)
    assert sorted(p.name for p in out.iterdir()) == sorted([*_parts(2), "late.txt"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["foreign", "out"]


def test_risk_score_of_a_history_writes_a_dataset_folder(tmp_path, history):
    """A payment history with its history-v1 model: `--out DIR` works and holds the scores
    that `--out scores.csv` holds."""
    path, model = history
    table = tmp_path / "scores.csv"
    argv = ["risk", "score", path, "--ew-model", model, "--quiet"]
    assert _run(*argv, "--out", table, "--no-png") == 0
    folder = tmp_path / "scores_ds"
    assert _run(*argv, "--out", folder) == 0
    assert folder.is_dir() and all(p.name.startswith("part-") for p in folder.iterdir())
    expected = pd.read_csv(table, dtype={"account_id": str})
    got = pd.read_parquet(folder)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected, check_dtype=False)

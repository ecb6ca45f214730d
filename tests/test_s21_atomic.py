"""Session 21: the output and interrupt machinery's three leftovers (SPEC §11).

* ``solver.core.atomic``: one "create a random name exclusively" loop serves the temporary
  files, the staging directories of ``atomic_paths`` and the writability probe; each name is
  tracked before its entry exists, so a hard stop right after the creation removes it.
* ``atomic_paths``: outputs that belong together are all replaced or none; an interruption
  during the final moves is raised after them (every output whole and new).
* ``generate portfolio --history``: the book and its history are one output.
* ``commands.common``: a signal that arrives after a run settled, before the handlers are
  restored, ends the run as interrupted (``Received.late``), injected at that point by a
  monkeypatched hook (no timing).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_inprocess import run_workout

from solver.core import atomic, interrupts
from solver.core.atomic import atomic_path, atomic_paths, check_writable

#: What an output holds before a run that may only replace it whole (or leave it).
PREVIOUS = "previous content\n"
INTERRUPTED: dict[int, tuple[int, str]] = {
    int(signal.SIGINT): (130, "interrupted by SIGINT (no partial output written)"),
    int(signal.SIGTERM): (143, "interrupted by SIGTERM (no partial output written)"),
}


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


@pytest.fixture(autouse=True)
def _nothing_tracked() -> Iterator[None]:
    """Each test starts and must end with no tracked temporary entry."""
    interrupts.remove_temporary()
    yield
    assert not interrupts._temporary, f"left tracked: {interrupts._temporary}"


# -- one exclusive-creation loop, names tracked before creation ------------------------------


def _hard_stop_right_after_creation(
    monkeypatch: pytest.MonkeyPatch, function: str
) -> list[dict[str, Any]]:
    """Make ``os.FUNCTION`` (``open`` or ``mkdir``), when it creates a hidden entry, do what
    the CLI's last-resort stop does at that moment (remove every tracked entry) and then
    raise the interruption; return what was seen at each creation."""
    real = getattr(os, function)
    seen: list[dict[str, Any]] = []

    def spy(path: Any, *args: Any, **kwargs: Any) -> Any:
        result = real(path, *args, **kwargs)
        if not Path(path).name.startswith("."):  # not ours (a parent directory, a read)
            return result
        if function == "open":
            os.close(result)
        entry = {"path": Path(path), "tracked": os.fspath(path) in interrupts._temporary}
        interrupts.remove_temporary()  # commands.common._hard_stop
        entry["left"] = os.path.lexists(path)
        seen.append(entry)
        raise KeyboardInterrupt

    monkeypatch.setattr(os, function, spy)
    return seen


def _write_one(dest: Path) -> None:
    with atomic_path(dest) as tmp:
        tmp.write_text("new\n")


def _write_pair(dest: Path) -> None:
    with atomic_paths(dest, dest.with_name("other.csv")) as staged:
        for path in staged:
            _write_one(path)


CREATIONS: dict[str, tuple[str, Callable[[Path], object]]] = {
    "temporary file": ("open", _write_one),
    "probe file": ("open", lambda dest: check_writable(dest)),
    "staging directory": ("mkdir", _write_pair),
}


@pytest.mark.parametrize("kind", sorted(CREATIONS))
def test_hard_stop_right_after_a_creation_leaves_nothing(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A temporary file, a probe file or a staging directory is tracked before it exists, so
    a hard stop in the next bytecode removes it (main's probe was not tracked)."""
    function, make = CREATIONS[kind]
    seen = _hard_stop_right_after_creation(monkeypatch, function)
    with pytest.raises(KeyboardInterrupt):
        make(tmp_path / "out.csv")
    monkeypatch.undo()
    assert len(seen) == 1, seen
    assert seen[0]["tracked"], f"{seen[0]['path'].name} was not tracked when it was created"
    assert not seen[0]["left"], f"{seen[0]['path'].name} outlived the hard stop"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", sorted(CREATIONS))
def test_a_name_taken_by_another_file_is_left_alone(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the random name is taken (another run's file) another is drawn, and the other
    file is neither removed nor tracked."""
    _, make = CREATIONS[kind]
    names = iter(["000000000000", "000000000000", "111111111111", "222222222222"] * 4)
    monkeypatch.setattr(atomic.secrets, "token_hex", lambda nbytes: next(names))
    taken = [
        tmp_path / ".out.csv.000000000000.tmp.csv",
        tmp_path / ".workout-probe.000000000000",
        tmp_path / ".out.csv.000000000000.tmp",
    ]
    for path in taken:
        path.write_text("someone else's\n")
    make(tmp_path / "out.csv")
    assert all(path.read_text() == "someone else's\n" for path in taken)
    left = {p.name for p in tmp_path.iterdir()} - {p.name for p in taken}
    assert left <= {"out.csv", "other.csv"}


# -- atomic_paths: all replaced, or none -------------------------------------------------------


def _pair(tmp_path: Path) -> tuple[Path, Path]:
    tmp_path.mkdir(exist_ok=True)
    book, history = tmp_path / "book.csv", tmp_path / "book_history.csv"
    book.write_text(PREVIOUS)
    history.write_text(PREVIOUS)
    return book, history


def test_atomic_paths_replaces_every_output(tmp_path: Path) -> None:
    """A completed block replaces both outputs (names as given, umask permissions) and leaves
    no staging directory."""
    book, history = _pair(tmp_path)
    with atomic_paths(book, history) as staged:
        assert [p.name for p in staged] == ["book.csv", "book_history.csv"]
        assert all(p.parent.parent == tmp_path and p.parent.name.startswith(".") for p in staged)
        for path, text in zip(staged, ("book\n", "history\n"), strict=True):
            with atomic_path(path) as tmp:
                tmp.write_text(text)
    assert (book.read_text(), history.read_text()) == ("book\n", "history\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.csv", "book_history.csv"]
    assert {p.stat().st_mode & 0o777 for p in (book, history)} == {0o666 & ~_umask()}


@pytest.mark.parametrize("error", [KeyboardInterrupt, ValueError])
def test_atomic_paths_failure_after_the_first_output_changes_nothing(
    tmp_path: Path, error: type[BaseException]
) -> None:
    """An exception after the first output was written (the book written, the history not):
    both keep their previous content and nothing else is left."""
    book, history = _pair(tmp_path)
    with pytest.raises(error), atomic_paths(book, history) as staged:
        _write_one(staged[0])
        raise error()
    assert (book.read_text(), history.read_text()) == (PREVIOUS, PREVIOUS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.csv", "book_history.csv"]


def test_atomic_paths_failure_removes_directories_it_created(tmp_path: Path) -> None:
    """Outputs in new (nested) directories: a failure removes the directories again."""
    outer = tmp_path / "a" / "b.csv"
    inner = tmp_path / "a" / "c" / "d.csv"
    with pytest.raises(RuntimeError), atomic_paths(outer, inner) as staged:
        _write_one(staged[0])
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_atomic_paths_output_not_written_replaces_nothing(tmp_path: Path) -> None:
    """A block that did not write one of its outputs is an error and replaces none."""
    book, history = _pair(tmp_path)
    with pytest.raises(FileNotFoundError, match="book_history.csv"):
        with atomic_paths(book, history) as staged:
            _write_one(staged[0])
    assert (book.read_text(), history.read_text()) == (PREVIOUS, PREVIOUS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.csv", "book_history.csv"]


@pytest.mark.parametrize("moved", [0, 1])
def test_interruption_during_the_moves_finishes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moved: int
) -> None:
    """An interruption that lands after ``moved`` of the two final renames: the renames are
    finished and the interruption raised after them (both outputs new, never one of each)."""
    book, history = _pair(tmp_path)
    real = os.replace
    calls: list[str] = []

    def replace(source: Any, dest: Any) -> None:
        staged = Path(dest).parent == tmp_path  # a final move (not a write inside the block)
        if staged and len(calls) == moved and "interrupted" not in calls:
            calls.append("interrupted")
            raise KeyboardInterrupt
        real(source, dest)
        if staged:
            calls.append(Path(dest).name)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(KeyboardInterrupt), atomic_paths(book, history) as staged:
        for path, text in zip(staged, ("book\n", "history\n"), strict=True):
            with atomic_path(path) as tmp:
                tmp.write_text(text)
    assert "interrupted" in calls
    assert (book.read_text(), history.read_text()) == ("book\n", "history\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.csv", "book_history.csv"]


def test_one_output_twice_is_refused(tmp_path: Path) -> None:
    """Two names for one output would move one staged file over the other: refused."""
    with pytest.raises(ValueError, match="twice"), atomic_paths(tmp_path / "a", tmp_path / "a"):
        pass
    assert list(tmp_path.iterdir()) == []


# -- generate portfolio --history: the book and its history together --------------------------


def _signal_before_history(monkeypatch: pytest.MonkeyPatch, signum: int) -> list[str]:
    """Make the second table write of ``generate`` (the history) receive ``signum`` first."""
    import solver.core.writers as writers

    real = writers.write_table
    written: list[str] = []

    def write_table(frame: Any, path: Any, **kwargs: Any) -> Path:
        if "_history" in Path(path).name:
            signal.raise_signal(signum)  # the handler raises here (inside the command)
        written.append(Path(path).name)
        return real(frame, path, **kwargs)

    monkeypatch.setattr(writers, "write_table", write_table)
    return written


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("existed", [True, False])
def test_generate_interrupted_between_book_and_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signum: int, existed: bool
) -> None:
    """A signal after the book was written, before its history: neither output changes (main
    replaced the book and said "no partial output written")."""
    book = tmp_path / "book.csv"
    history = tmp_path / "book_history.csv"
    if existed:
        book.write_text(PREVIOUS)
        history.write_text(PREVIOUS)
    written = _signal_before_history(monkeypatch, signum)
    code, _, err = run_workout(
        "generate", "portfolio", "--n", "30", "--history", "3", "--out", book, "--quiet"
    )
    assert written == ["book.csv"]  # the book was written when the signal came
    assert (code, _lines(err)) == (INTERRUPTED[signum][0], [INTERRUPTED[signum][1]])
    expected = ["book.csv", "book_history.csv"] if existed else []
    assert sorted(p.name for p in tmp_path.iterdir()) == expected
    if existed:
        assert (book.read_text(), history.read_text()) == (PREVIOUS, PREVIOUS)


def test_generate_interrupted_during_the_moves_writes_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SIGINT after the book was moved into place, before the history: both are the new,
    complete files (those of an uninterrupted run), and the run still ends as interrupted
    (exit 130, the one line)."""
    code, _, err = run_workout(
        "generate", "portfolio", "--n", "30", "--history", "3", "--out", tmp_path / "ref.csv"
    )
    assert code == 0, err
    book, history = _pair(tmp_path / "run")
    real = os.replace

    def replace(source: Any, dest: Any) -> None:
        real(source, dest)
        if Path(dest) == book:
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(os, "replace", replace)
    code, _, err = run_workout(
        "generate", "portfolio", "--n", "30", "--history", "3", "--out", book, "--quiet"
    )
    monkeypatch.undo()
    assert (code, _lines(err)) == (130, [INTERRUPTED[signal.SIGINT][1]])
    assert book.read_bytes() == (tmp_path / "ref.csv").read_bytes()
    assert history.read_bytes() == (tmp_path / "ref_history.csv").read_bytes()
    assert sorted(p.name for p in book.parent.iterdir()) == ["book.csv", "book_history.csv"]


def test_generate_xlsx_with_history_is_the_same_bytes_twice(tmp_path: Path) -> None:
    """The staged files keep the outputs' names, so a workbook's title (its file name) and
    with it the bytes do not depend on the random staging name."""
    runs = []
    for k in range(2):
        out = tmp_path / str(k) / "book.xlsx"
        code, _, err = run_workout(
            "generate", "portfolio", "--n", "20", "--history", "2", "--out", out, "--quiet"
        )
        assert code == 0, err
        runs.append((out.read_bytes(), out.with_name("book_history.xlsx").read_bytes()))
    assert runs[0] == runs[1]


# -- a signal after the run settled, before the handlers are restored ---------------------------


def _late_signal_after(monkeypatch: pytest.MonkeyPatch, hook: str, signum: int) -> None:
    """Deliver ``signum`` right after ``commands.common.HOOK`` returns: ``_settle`` (the
    outcome decided, not yet reported) or ``_run`` (reported, the handlers still ours)."""
    import commands.common as common

    real = getattr(common, hook)

    def then_signal(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        signal.raise_signal(signum)  # runs the handler before it returns
        return result

    monkeypatch.setattr(common, hook, then_signal)


def _writing_group(out: Path, fail: bool = False) -> Any:
    """A one-command click group that writes ``out`` whole (or fails with an InputError)."""
    import click

    from solver.errors import InputError

    @click.group()
    def group() -> None:
        """Test group."""

    @group.command()
    def write() -> None:
        """Write the output."""
        if fail:
            raise InputError("a bad input")
        with atomic_path(out) as tmp:
            tmp.write_text("complete\n")
        click.echo("done")

    return group


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("hook", ["_settle", "_run"])
def test_signal_after_a_clean_run_settled_ends_it_as_interrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, hook: str, signum: int
) -> None:
    """A signal after the run settled (before or after its report, handlers still installed)
    ends it as interrupted: 128 + N and the one line, the output complete (main: exit 0)."""
    from commands.common import run_cli

    out = tmp_path / "out.txt"
    _late_signal_after(monkeypatch, hook, signum)
    code = run_cli(_writing_group(out), ["write"])
    captured = capsys.readouterr()
    assert (code, _lines(captured.err)) == (INTERRUPTED[signum][0], [INTERRUPTED[signum][1]])
    assert _lines(captured.out) == ["done"]
    assert out.read_text() == "complete\n"
    assert list(tmp_path.iterdir()) == [out]


def test_signal_after_a_failed_run_settled_reports_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """A failed run (exit 2) that receives a signal after settling: its error line, then the
    interruption's, exit 130 (any signal while the handlers are ours ends the run so)."""
    from commands.common import run_cli

    _late_signal_after(monkeypatch, "_settle", signal.SIGINT)
    code = run_cli(_writing_group(tmp_path / "out.txt", fail=True), ["write"])
    err = _lines(capsys.readouterr().err)
    assert (code, err) == (130, ["Error: a bad input", INTERRUPTED[signal.SIGINT][1]])


def test_signal_after_an_interrupted_run_settled_is_not_reported_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """An interrupted run that receives another signal while it is reported: one line, the
    first signal's code."""
    import click

    from commands.common import run_cli

    @click.group()
    def group() -> None:
        """Test group."""

    @group.command()
    def stop() -> None:
        """Be interrupted."""
        signal.raise_signal(signal.SIGINT)

    _late_signal_after(monkeypatch, "_settle", signal.SIGTERM)
    assert run_cli(group, ["stop"]) == 130
    assert _lines(capsys.readouterr().err) == [INTERRUPTED[signal.SIGINT][1]]

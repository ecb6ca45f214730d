"""Small mends of session 23, from the last code review.

1. The default objective ``bank`` is written once, as
   ``solver.plans.objectives.DEFAULT_OBJECTIVE`` (beside ``OBJECTIVES``), and every default
   and comparison of the planner, the officer's documents, the service and the command line
   uses it (``CUSTOMER_OBJECTIVE`` likewise for ``customer``).
3. Whether a book's work runs on an engine is one function,
   ``solver.engines.partitions.runs_on_engine``, which ``plan-portfolio``, ``allocate``,
   ``risk score`` (``scoring_route``) and ``read_portfolio_on`` call instead of each
   writing the rule. Its expected answers are written out here from the rule the commands'
   help states: an engine when one is asked for (``--engine dask``/``--partitions``), when
   ``--out`` is a Parquet dataset directory, or when the book is a directory.

Which fail on main (e31c286): ``test_default_objective_is_declared_once`` (no
``DEFAULT_OBJECTIVE``), ``test_objective_words_are_written_once`` (``"bank"`` spelt in
five more places, ``"customer"`` in two) and the ``runs_on_engine`` tests (no function).
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import click
import click.testing
import pytest

from solver.core.sources import BookSource

ROOT = Path(__file__).resolve().parents[1]


def _string_literals(word: str) -> list[str]:
    """``file:line`` of every string constant equal to ``word`` in solver/, commands/ and
    cli.py (docstrings and longer texts are other constants)."""
    files = [*sorted((ROOT / "solver").rglob("*.py")), *sorted((ROOT / "commands").rglob("*.py"))]
    found = []
    for path in [*files, ROOT / "cli.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value == word:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_objective_words_are_written_once():
    """The words "bank" and "customer" are each one string literal, in plans/objectives.py."""
    for word in ("bank", "customer"):
        found = _string_literals(word)
        assert len(found) == 1 and found[0].startswith("solver/plans/objectives.py:"), found


def test_default_objective_is_declared_once():
    """DEFAULT_OBJECTIVE is "bank", one of OBJECTIVES, and the default of choose_for,
    plan_result, plan_document, the service's request and --objective."""
    import commands.output
    from solver.officer.documents import plan_document, plan_result
    from solver.plans import objectives
    from solver.plans.customer_choice import choose_for
    from solver.service.models import AccountRequest

    default = objectives.DEFAULT_OBJECTIVE
    assert default == "bank" and objectives.CUSTOMER_OBJECTIVE == "customer"
    assert objectives.OBJECTIVES == (default, objectives.CUSTOMER_OBJECTIVE)
    for func in (choose_for, plan_result, plan_document):
        assert inspect.signature(func).parameters["objective"].default is default, func
    assert AccountRequest.model_fields["objective"].default is default

    @click.command()
    @commands.output.objective_options
    def probe(objective: str, within_pct: float) -> None:
        click.echo(objective)

    assert click.testing.CliRunner().invoke(probe, []).output.strip() == default


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A book file, a dataset directory, each also as a BookSource, and a database table."""
    root = tmp_path_factory.mktemp("books")
    (root / "book.csv").write_text("account_id\nA1\n")
    (root / "parts").mkdir()
    return {
        "file": root / "book.csv",
        "file as text": str(root / "book.csv"),
        "directory": root / "parts",
        "directory as text": str(root / "parts"),
        "booksource file": BookSource(path=root / "book.csv"),
        "booksource directory": BookSource(path=root / "parts"),
        "database": BookSource(url="sqlite:///bank.db", table="accounts"),
    }


#: book -> whether it alone sends the work to an engine: only a directory does.
ALONE = {
    "file": False,
    "file as text": False,
    "directory": True,
    "directory as text": True,
    "booksource file": False,
    "booksource directory": True,
    "database": False,
}


@pytest.mark.parametrize("book", list(ALONE))
@pytest.mark.parametrize(
    ("distributed", "dataset_out"), [(False, False), (True, False), (False, True)]
)
def test_runs_on_engine(books, book, distributed, dataset_out):
    """The engine runs the work when asked for, for a dataset --out or a directory book."""
    from solver.engines.partitions import runs_on_engine

    expected = distributed or dataset_out or ALONE[book]
    got = runs_on_engine(books[book], distributed=distributed, dataset_out=dataset_out)
    assert got is expected


@pytest.mark.parametrize("command", ["plan-portfolio", "allocate"])
def test_book_commands_ask_runs_on_engine(command, tmp_path, monkeypatch):
    """plan-portfolio and allocate take their route from runs_on_engine (recorded), and a
    file book with no engine asked for runs in this process (exit 0)."""
    from cli_inprocess import run_workout

    import solver.engines.partitions as partitions

    calls: list[tuple[object, bool]] = []
    real = partitions.runs_on_engine

    def recorded(source: object, *, distributed: bool, dataset_out: bool = False) -> bool:
        calls.append((source, distributed))
        return real(source, distributed=distributed, dataset_out=dataset_out)

    monkeypatch.setattr(partitions, "runs_on_engine", recorded)
    book = ROOT / "tests" / "data" / "portfolio" / "tiny.csv"
    code, _, err = run_workout(command, book, "--out", tmp_path / "out.csv", "--quiet")
    assert code == 0, err
    assert calls == [(book, False)]

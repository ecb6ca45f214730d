"""Small mends of session 23, from the last code review.

1. The default objective ``bank`` is written once, as
   ``solver.plans.objectives.DEFAULT_OBJECTIVE`` (beside ``OBJECTIVES``), and every default
   and comparison of the planner, the officer's documents, the service and the command line
   uses it (``CUSTOMER_OBJECTIVE`` likewise for ``customer``).

Which fail on main (e31c286): ``test_default_objective_is_declared_once`` (no
``DEFAULT_OBJECTIVE``) and ``test_objective_words_are_written_once`` (``"bank"`` spelt in
four more places, ``"customer"`` in two).
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import click
import click.testing

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
    from solver.plans.options import choose_for
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

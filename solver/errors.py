"""Exceptions that carry an exit code (SPEC §11).

User errors (`InputError`, `InfeasibleError`, `TimeLimitError`) are caught by the CLI,
printed without a traceback and mapped to their exit code. Anything else is an internal
error (exit 1).
"""

from __future__ import annotations


class WorkoutError(Exception):
    """Base class of every error the CLI reports without a traceback."""

    exit_code = 1


class InputError(WorkoutError, ValueError):
    """Bad input or usage: the message names the file, the row and the column (exit 2).

    Parameters
    ----------
    message
        Headline, e.g. ``"portfolio.csv: 3 problems"``.
    problems
        One line per problem, ``FILE: row N (account_id X): column: what is wrong``.
    """

    exit_code = 2

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = list(problems or [])
        super().__init__(message)

    def __str__(self) -> str:
        head = super().__str__()
        if not self.problems:
            return head
        return head + "\n" + "\n".join(f"  {p}" for p in self.problems)


class InfeasibleError(WorkoutError):
    """No feasible plan or allocation exists; the message explains why (exit 3)."""

    exit_code = 3


class TimeLimitError(WorkoutError):
    """The time limit was reached with no feasible solution (exit 4)."""

    exit_code = 4

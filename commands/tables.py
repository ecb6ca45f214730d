"""Terminal tables that fit the console: columns dropped by priority, never a number cut.

Every table of the command line that can be wider than an 80-column terminal is built
here (issue 15). A table is a list of :class:`Column` (header, alignment, whether its
text may wrap, and a priority) and rows of already formatted cells. :func:`fit_table`
lays it out:

* when every column fits in the usual boxed layout (text columns wrapping into their
  width), that layout, exactly as a plain ``rich`` table would print it;
* otherwise a compact layout (no vertical rules, one space between columns) with the
  columns kept by priority (0 first), each kept only if the table still fits at its
  smallest width: numbers and labels whole (never wrapped), text columns at least
  :data:`MIN_TEXT_WIDTH` wide and never narrower than their longest word. The columns
  left out are named on a line below the table (:func:`print_fitted`).

``rich`` would otherwise squeeze the columns and cut cells with an ellipsis
(``77,3…``). Tests render with ``rich.console.Console(width=80)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: Narrowest width of a text column that wraps (a wrapped column narrower is unreadable).
MIN_TEXT_WIDTH = 18


@dataclass(frozen=True)
class Column:
    """One column of a fitted table.

    Attributes
    ----------
    header
        Header in the usual layout.
    justify
        ``"left"`` or ``"right"`` (numbers).
    priority
        Lower is kept first on a narrow terminal (0: always, if anything fits).
    wraps
        Text that may wrap at spaces (never cut inside a word); other cells stay whole.
    short
        Header in the compact layout (may hold ``"\\n"`` to wrap it); default ``header``.
    min_width
        Width below which a wrapping column never goes (default: its natural width, at
        most :data:`MIN_TEXT_WIDTH`, and at least its longest word).
    name
        How the note about dropped columns names it (default: ``header`` on one line).
    """

    header: str
    justify: str = "right"
    priority: int = 0
    wraps: bool = False
    short: str | None = None
    min_width: int | None = None
    name: str | None = None

    def title(self, narrow: bool) -> str:
        return self.short if narrow and self.short is not None else self.header

    @property
    def label(self) -> str:
        """The column's name in notes."""
        return self.name or " ".join(self.header.split())


def stacked(name: str, width: int = 14) -> str:
    """A snake_case header on lines of at most about ``width`` characters, broken after an
    underscore (``total_value_`` / ``discounted``): a narrow column keeps its whole name."""
    lines: list[str] = []
    for part in name.split("_"):
        if lines and len(lines[-1]) + 1 + len(part) <= width:
            lines[-1] += "_" + part
        elif lines:
            lines[-1] += "_"
            lines.append(part)
        else:
            lines.append(part)
    return "\n".join(lines)


#: A row: its cells (one per column, formatted) and a rich style (or ``None``).
Row = tuple[Sequence[str], str | None]


def _plain(text: str) -> str:
    """A cell's text as printed (rich markup such as ``[green]...[/]`` removed)."""
    if "[" not in text:
        return text
    from rich.text import Text

    return Text.from_markup(text).plain


def _width(text: str) -> int:
    from rich.cells import cell_len

    return cell_len(_plain(text))


def _longest_word(text: str) -> int:
    from rich.cells import cell_len

    return max((cell_len(word) for word in _plain(text).split()), default=0)


def _smallest(column: Column, cells: list[str], narrow: bool) -> int:
    """Narrowest width at which ``column`` shows every cell whole."""
    natural = max(_width(x) for x in [*cells, *column.title(narrow).split("\n")])
    if not column.wraps:
        return natural
    longest = max((_longest_word(x) for x in cells), default=0)
    return max(min(natural, MIN_TEXT_WIDTH), longest)


def _build(
    title: str | None,
    columns: Sequence[Column],
    rows: Sequence[Row],
    keep: list[int],
    narrow: bool,
    min_widths: dict[int, int],
    table_options: dict[str, Any],
) -> Any:
    from rich import box
    from rich.table import Table

    layout: dict[str, Any] = {"title": title, "title_justify": "left", **table_options}
    if narrow:  # no vertical rules, one space between columns
        layout.update(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        layout["collapse_padding"] = True
    table = Table(**layout)
    for i in keep:
        column = columns[i]
        table.add_column(
            column.title(narrow),
            justify=column.justify,  # type: ignore[arg-type]
            no_wrap=not column.wraps,
            min_width=min_widths.get(i) if column.wraps else None,
        )
    for cells, style in rows:
        table.add_row(*(cells[i] for i in keep), style=style)
    return table


def fit_table(
    width: int,
    title: str | None,
    columns: Sequence[Column],
    rows: Sequence[Row],
    **table_options: Any,
) -> tuple[Any, list[int]]:
    """The table that fits ``width`` columns, and the indexes of the columns it dropped.

    ``table_options`` go to :class:`rich.table.Table` (e.g. ``caption``).
    """
    every = list(range(len(columns)))
    cells = [[str(row[0][i]) for row in rows] for i in every]
    min_widths = {
        i: columns[i].min_width or _smallest(columns[i], cells[i], narrow=False)
        for i in every
        if columns[i].wraps
    }

    def fits(keep: list[int], narrow: bool) -> bool:
        # rules and padding: 3 per column + 1 with the box; 2 between columns without it
        frame = 2 * (len(keep) - 1) if narrow else 3 * len(keep) + 1
        return sum(_smallest(columns[i], cells[i], narrow) for i in keep) + frame <= width

    if fits(every, narrow=False):
        return _build(title, columns, rows, every, False, min_widths, table_options), []
    keep: list[int] = []
    for i in sorted(every, key=lambda k: columns[k].priority):
        if fits(sorted([*keep, i]), narrow=True):
            keep = sorted([*keep, i])
    dropped = [i for i in every if i not in keep]
    return _build(title, columns, rows, keep, True, min_widths, table_options), dropped


def dropped_note(width: int, names: Sequence[str], hint: str = "--format json") -> str:
    """The line that names the columns a narrow terminal left out."""
    return (
        f"[dim]not shown at {width} columns: {', '.join(names)} (widen the terminal, or use "
        f"{hint})[/]"
    )


def print_fitted(
    out: Any,
    title: str | None,
    columns: Sequence[Column],
    rows: Sequence[Row],
    *,
    hint: str = "--format json",
    **table_options: Any,
) -> list[int]:
    """Print the table fitted to the console ``out`` and a line naming dropped columns.

    Returns the indexes of the dropped columns.
    """
    table, dropped = fit_table(out.width, title, columns, rows, **table_options)
    out.print(table)
    if dropped:
        names = [columns[i].label for i in dropped]
        out.print(dropped_note(out.width, names, hint), highlight=False)
    return dropped

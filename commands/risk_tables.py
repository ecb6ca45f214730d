"""``workout risk`` tables printed whole on any terminal: a number is never cut.

The risk tables are matrices and interval columns: every column is data, so none is left
out (as :mod:`commands.tables` does for the plan table). A table wider than the console is
laid out instead with each column at least as wide as its longest word (headers and cells
wrap only at spaces, and a number holds none), first boxed, then compact (two spaces,
then one, between columns), and when even that is too wide it is split into parts that repeat the
row label column. ``rich`` alone squeezed the columns and cut cells with an ellipsis
(``(1,5…``, review of 4 Dec 2026). A table that fits prints exactly as ``rich`` prints it.
"""

from __future__ import annotations

from typing import Any

#: A width no table reaches (to measure a table's natural width).
_UNBOUNDED = 100_000


def print_table(out: Any, table: Any) -> None:
    """Print the rich ``table`` on the console ``out`` without cutting a cell."""
    # measured unbounded: rich clamps a measurement to the console's width
    if out.measure(table, options=out.options.update_width(_UNBOUNDED)).maximum <= out.width:
        out.print(table)
        return
    for part in fitted_parts(table, out.width):
        out.print(part)


def _texts(column: Any) -> list[str]:
    from rich.text import Text

    return [Text.from_markup(str(x)).plain for x in [column.header, *column.cells]]


#: The layouts tried in turn: boxed, then compact with two spaces, then one space between
#: columns (the gap; ``None`` is boxed).
_LAYOUTS: tuple[int | None, ...] = (None, 2, 1)


def _frame(k: int, gap: int | None) -> int:
    """Width of the rules and padding of ``k`` columns: a border and a space either side of
    every cell when boxed, else ``gap`` spaces between columns."""
    return 3 * k + 1 if gap is None else gap * (k - 1)


def fitted_parts(table: Any, width: int) -> list[Any]:
    """``table`` laid out within ``width`` columns, as one table or as parts (each with the
    first column, the row labels) when no layout of the whole fits."""
    from rich.cells import cell_len

    texts = [_texts(c) for c in table.columns]
    natural = [max(cell_len(line) for x in t for line in x.split("\n")) for t in texts]
    least = [max((cell_len(word) for x in t for word in x.split()), default=1) for t in texts]

    def laid_out(keep: list[int], numbered: tuple[int, int] | None = None) -> Any:
        """The ``keep`` columns in the first layout that fits (the last one otherwise)."""
        need = sum(least[i] for i in keep)
        gap = next((g for g in _LAYOUTS if need + _frame(len(keep), g) <= width), _LAYOUTS[-1])
        widths = {i: least[i] for i in keep}
        room = width - _frame(len(keep), gap) - need
        while room > 0 and (short := [i for i in keep if widths[i] < natural[i]]):
            for i in short[:room]:  # toward each column's widest line, a step at a time
                widths[i] += 1
            room -= min(room, len(short))
        return _part(table, keep, widths, gap, numbered)

    every = list(range(len(texts)))
    if len(every) == 1 or sum(least) + _frame(len(every), _LAYOUTS[-1]) <= width:
        return [laid_out(every)]
    groups: list[list[int]] = []
    for i in every[1:]:
        grown = [*groups[-1], i] if groups else []
        if grown and sum(least[j] for j in grown) + _frame(len(grown), _LAYOUTS[-1]) <= width:
            groups[-1] = grown
        else:
            groups.append([0, i])
    return [laid_out(keep, (n, len(groups))) for n, keep in enumerate(groups, 1)]


def _part(
    table: Any,
    keep: list[int],
    widths: dict[int, int],
    gap: int | None,
    numbered: tuple[int, int] | None = None,
) -> Any:
    """A table of the ``keep`` columns of ``table`` at ``widths``."""
    from rich import box
    from rich.table import Table

    title, caption = table.title, table.caption
    if numbered is not None:
        title = f"{title} (part {numbered[0]} of {numbered[1]})"
        caption = caption if numbered[0] == numbered[1] else None
    layout: dict[str, Any] = {"title": title, "caption": caption, "show_lines": table.show_lines}
    if gap is not None:  # rich's padding collapses to one space; the box's rule adds one
        layout.update(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        layout.update(padding=(0, gap - 1), collapse_padding=True)
    out = Table(**layout)
    for i in keep:
        column = table.columns[i]
        out.add_column(
            column.header,
            justify=column.justify,
            style=column.style,
            header_style=column.header_style,
            width=widths[i],
        )
    cells = [list(table.columns[i].cells) for i in keep]
    for r, row in enumerate(table.rows):
        out.add_row(*(c[r] for c in cells), style=row.style, end_section=row.end_section)
    return out

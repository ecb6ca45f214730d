"""The offer letter file of ``workout offer`` and ``workout audit``: its path checked before
any work, and the letter (HTML, or PDF by the suffix) written atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def letter_path_check(path: Path, inputs: dict[str, Any]) -> None:
    """Refuse, before any work, a letter path that is not .html/.pdf, cannot be written,
    or asks for a PDF on a machine that cannot make one."""
    from solver.core.atomic import check_writable
    from solver.errors import InputError
    from solver.officer.pdf import HTML_SUFFIXES, PDF_SUFFIXES, pdf_renderer

    suffix = path.suffix.lower()
    if suffix not in HTML_SUFFIXES + PDF_SUFFIXES:
        raise InputError(
            f"--out {path}: an offer letter is HTML or PDF: give a file ending in .html or "
            f".pdf (got {path.suffix or 'no extension'!r})"
        )
    if suffix in PDF_SUFFIXES:
        pdf_renderer(f"--out {path}")
    check_writable(path, option="--out", inputs=inputs)


def write_letter(path: Path, html: str) -> Any:
    """A context manager that writes the letter (HTML, or PDF by the suffix) atomically:
    the file appears when the block ends without an error."""
    import contextlib

    from solver.core.atomic import atomic_path
    from solver.officer.pdf import PDF_SUFFIXES, letter_pdf

    data = letter_pdf(html, f"--out {path}") if path.suffix.lower() in PDF_SUFFIXES else None

    @contextlib.contextmanager
    def writing() -> Any:
        with atomic_path(path) as tmp:
            if data is None:
                Path(tmp).write_text(html, encoding="utf-8", newline="\n")
            else:
                Path(tmp).write_bytes(data)
            yield

    return writing()

"""Offer letters as PDF: the letter's HTML rendered by WeasyPrint (issue 16, item 3).

The HTML letter stays the document of record: the audit trail hashes the HTML
(:func:`solver.officer.letter.letter_sha256`), and ``workout audit letter SEQ --out x.pdf``
renders the recorded HTML again. The PDF is a rendering of it for the customer's file.

Why WeasyPrint: it is a maintained HTML/CSS-to-PDF library that honours the letter's print
CSS (A4 pages, the schedule's header row repeated on each page) and embeds the fonts it
uses, with no browser to install or drive. It needs Pango from the system (Debian:
``libpango-1.0-0``, present wherever Chromium is) and a CJK font for Chinese letters
(Debian: ``fonts-noto-cjk``, installed by ``.ci/run``). Where they are missing the command
refuses before any work and says what to install; ``.html`` letters need neither.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from solver.errors import InputError

#: The timestamp the embedded font subsets carry (their ``head.modified``). fontTools stamps
#: a subset with the current time unless ``SOURCE_DATE_EPOCH`` (the reproducible-builds
#: convention) says otherwise, so two renderings of the same letter a second apart differed
#: in bytes; the audit trail's ``audit letter SEQ --out x.pdf`` must give the same file as
#: the original ``--out``. 2000-01-01 00:00 UTC: any fixed moment would do.
FONT_EPOCH = "946684800"
_EPOCH_LOCK = threading.Lock()

#: Letter file suffixes and what each is.
HTML_SUFFIXES = (".html", ".htm")
PDF_SUFFIXES = (".pdf",)


def pdf_renderer(option: str = "--out") -> Any:
    """WeasyPrint's ``HTML`` class, or an :class:`InputError` saying what to install."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # OSError: Pango's shared library not found
        raise InputError(
            f"{option}: a PDF letter needs WeasyPrint and the Pango library "
            f"(Debian: apt-get install libpango-1.0-0 fonts-noto-cjk); write a .html letter "
            f"and print it from a browser instead ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else 'not available'})"
        ) from None
    return HTML


def letter_pdf(html: str, option: str = "--out") -> bytes:
    """The letter's HTML as PDF bytes (A4, the letter's print CSS)."""
    document = pdf_renderer(option)(string=html)
    with _EPOCH_LOCK:  # the environment is the process's: one rendering sets it at a time
        saved = os.environ.get("SOURCE_DATE_EPOCH")
        os.environ["SOURCE_DATE_EPOCH"] = saved or FONT_EPOCH  # a caller's own epoch is kept
        try:
            pdf: bytes = document.write_pdf()
        finally:  # the environment exactly as it was (unset, empty or the caller's value)
            if saved is None:
                del os.environ["SOURCE_DATE_EPOCH"]
            else:
                os.environ["SOURCE_DATE_EPOCH"] = saved
    return pdf

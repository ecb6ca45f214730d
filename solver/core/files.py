"""Input files before they are parsed: the formats by extension, the size limits, the cheap
checks (missing, empty, binary, UTF-16, not the format its name says) and TOML settings.

:func:`check_input_file` runs before any parser sees a file, so a wrong file fails fast
with one line naming it; :func:`read_toml` reads every settings file (policy, scenario,
tiering, catalogue) with those checks. Only the standard library is used here: the
command line's start-up imports this module.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from solver.errors import InputError

__all__ = [
    "INPUT_FORMATS",
    "MAX_EXCEL_BYTES",
    "MAX_TEXT_BYTES",
    "UTF8_BOM",
    "check_input_file",
    "input_format",
    "open_bytes",
    "read_toml",
    "text_codec",
    "to_utf8",
    "utf8_text",
]

INPUT_FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "xls",
    ".json": "json",
    ".toml": "toml",
}
#: The byte-order mark some editors (and Excel's "CSV UTF-8") put before UTF-8 text.
UTF8_BOM = b"\xef\xbb\xbf"


def input_format(path: Path) -> str:
    """The input format of ``path`` by its extension (:data:`INPUT_FORMATS`), or raise."""
    fmt = INPUT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(INPUT_FORMATS))
        raise InputError(f"{path}: unsupported file type {path.suffix or '(none)'!r} (use {known})")
    return fmt


#: Largest TOML/JSON file read (settings files, one account, small portfolios), in bytes;
#: override with ``WORKOUT_MAX_TEXT_MB``. Parsing TOML is slow (a 200 MB file takes
#: minutes), so bigger files are refused before parsing: use CSV or Parquet for portfolios.
MAX_TEXT_BYTES = 16 * 2**20
#: Largest Excel workbook read, in bytes (about 500,000 accounts); override with
#: ``WORKOUT_MAX_EXCEL_MB``. openpyxl holds every cell as a Python object.
MAX_EXCEL_BYTES = 64 * 2**20
_SNIFF_BYTES = 1 << 16
_MAGIC = {"excel": b"PK\x03\x04", "parquet": b"PAR1"}


def _max_bytes(fmt: str) -> int | None:
    env, default = {
        "toml": ("WORKOUT_MAX_TEXT_MB", MAX_TEXT_BYTES),
        "json": ("WORKOUT_MAX_TEXT_MB", MAX_TEXT_BYTES),
        "excel": ("WORKOUT_MAX_EXCEL_MB", MAX_EXCEL_BYTES),
    }.get(fmt, (None, None))
    if env is None:
        return None  # CSV and Parquet: no fixed limit (validated in chunks, see validate)
    try:
        return int(float(os.environ[env]) * 2**20)
    except (KeyError, ValueError):
        return default


@contextlib.contextmanager
def _read_errors(path: Path) -> Iterator[None]:
    """Turn a missing, directory or unreadable ``path`` into an :class:`InputError`."""
    try:
        yield
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, expected a file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None


def check_input_file(path: str | os.PathLike[str], fmt: str | None = None) -> int:
    """Cheap checks of an input file before it is parsed; return its size in bytes.

    Raises :class:`InputError` when the file is missing, a directory, unreadable, empty,
    larger than the limit of its format (TOML/JSON :data:`MAX_TEXT_BYTES`, Excel
    :data:`MAX_EXCEL_BYTES`), or when its first 64 KiB show it is not of its format
    (binary data in a text file, a text file named .xlsx or .parquet).
    """
    path = Path(path)
    try:
        with _read_errors(path):
            size = path.stat().st_size
            if path.is_dir():
                raise InputError(f"{path}: is a directory, expected a file")
            with open(path, "rb") as fh:
                head = fh.read(_SNIFF_BYTES)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if size == 0 or not head:
        raise InputError(f"{path}: file is empty (0 bytes)")
    limit = _max_bytes(fmt or "")
    if limit is not None and size > limit:
        raise InputError(
            f"{path}: file too large for a {fmt} input ({size / 2**20:,.0f} MB > "
            f"{limit / 2**20:,.0f} MB limit); use CSV or Parquet for large portfolios "
            "(see docs/reliability.md)"
        )
    magic = _MAGIC.get(fmt or "")
    if magic is not None:
        if not head.startswith(magic):
            kind = {"excel": "an .xlsx workbook (zip)", "parquet": "a Parquet file"}[fmt or ""]
            raise InputError(f"{path}: not {kind}: the file does not start like one")
    elif fmt in ("csv", "toml", "json", "text"):
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise InputError(
                f"{path}: the file is UTF-16 text (Excel 'Unicode Text'); save it as UTF-8"
            )
        nul = head.find(b"\x00")
        if nul >= 0:
            hint = " (an Excel or zip file?)" if head.startswith(b"PK") else ""
            what = "a text file" if fmt == "text" else f"{fmt.upper()} text"
            raise InputError(f"{path}: binary data, not {what}{hint}: NUL byte at offset {nul}")
    return size


def open_bytes(path: Path, fmt: str | None = None) -> bytes:
    """The bytes of an input file, after :func:`check_input_file`."""
    check_input_file(path, fmt)
    with _read_errors(path):
        data = path.read_bytes()
    if not data:
        raise InputError(f"{path}: file is empty (0 bytes)")
    return data


def utf8_text(data: bytes, source: str, note: str = "") -> str:
    """The text of UTF-8 ``data`` (a leading BOM dropped), or an :class:`InputError` naming the
    line and byte that is not UTF-8 (``note`` appended to the message)."""
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{source}: line {line}: not valid UTF-8 (byte {exc.start}){note}"
        ) from None


def text_codec(encoding: str) -> str:
    """The codec name of ``--encoding`` (``"utf-8"``, ``"gb18030"``, ...): the one check of
    a text encoding given on the command line (reading and writing CSV).

    Raises
    ------
    InputError
        An encoding Python does not know.
    """
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise InputError(
            f"--encoding {encoding}: unknown text encoding (e.g. UTF-8, GBK, GB18030)"
        ) from None


def to_utf8(data: bytes, source: str, encoding: str | None) -> bytes:
    """CSV bytes as UTF-8: text in ``encoding`` (``--encoding``, e.g. GBK or GB18030)
    re-encoded; a UTF-8 byte-order mark wins over ``encoding`` (it is auto-detected), and
    ``None`` or UTF-8 leaves ``data`` as it is (checked later, line by line).

    Raises
    ------
    InputError
        An unknown encoding, or a byte that is not valid in it (the message names the file,
        the line and suggests another ``--encoding``).
    """
    if encoding is None or data.startswith(UTF8_BOM):
        return data
    name = text_codec(encoding)
    if name == "utf-8":
        return data
    try:
        return data.decode(name).encode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start : exc.start + 1].hex()
        raise InputError(
            f"{source}: line {line}: byte 0x{byte} is not valid {encoding} text (byte "
            f"{exc.start + 1}): the file is not {encoding}-encoded; try another --encoding "
            "(UTF-8, GB18030)"
        ) from None


def read_toml(path: str | os.PathLike[str], what: str = "settings") -> dict[str, Any]:
    """Parse a TOML settings file (data only) with the input checks of :func:`check_input_file`.

    Parameters
    ----------
    what
        What the file is (``"policy"``, ``"scenario"``), used in messages.

    Raises
    ------
    InputError
        Missing, empty, too large, binary, not UTF-8 or not valid TOML; the message names
        the file and the line.
    """
    path = Path(path)
    text = utf8_text(
        open_bytes(path, "toml"), str(path), f"; the {what} file must be UTF-8 TOML text"
    )
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({what} file): {exc}") from None

"""Jinja2 environments and bilingual word lists for the officer's HTML (the offer letter,
the service's page): one way to load both, cached per folder and file.

Jinja2 is imported when a template is first rendered, not when the command line starts.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any


@cache
def environment(folder: Path) -> Any:
    """A Jinja2 environment over the templates in ``folder``: HTML autoescaping, strict
    undefined names (a missing word is an error, not a blank)."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@cache
def words(path: Path) -> dict[str, dict[str, str]]:
    """A word list: ``key -> {"zh": ..., "en": ...}`` from a TOML file."""
    with open(path, "rb") as fh:
        return tomllib.load(fh)

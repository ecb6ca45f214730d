"""The message of the :class:`~solver.errors.InputError` a reader raises (shared by the tests
of the readers' messages: file, row, account, column, key)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from solver.errors import InputError


def input_error(call: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """``str`` of the InputError that ``call(*args, **kwargs)`` raises; the test fails if it
    raises none."""
    with pytest.raises(InputError) as caught:
        call(*args, **kwargs)
    return str(caught.value)

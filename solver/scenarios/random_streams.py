"""Every account's own random numbers, and probabilities as thresholds on them.

An account's stream is keyed by a hash of (seed, account_id) (BLAKE2b → the state of an
SFC64 generator), so its draws do not depend on the other accounts, on how the portfolio
is cut into chunks or partitions, or on the number of threads, and two scenarios run with
the same seed share their random numbers (common random numbers).
:func:`account_streams` fills a chunk's uint32 draws (into a per-thread buffer,
:func:`draw_buffer`); :func:`thresholds` turns probabilities into the uint32 thresholds
the month loop compares them with.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence

import numpy as np

__all__ = ["account_streams", "draw_buffer", "thresholds"]

_U32 = float(2**32)


def thresholds(prob: np.ndarray) -> np.ndarray:
    """Probabilities as uint32 thresholds: ``V < T`` has probability ``T / 2^32``.

    The rounding error is below 2^-33 per month; a probability of 1 becomes 2^32 − 1
    (one chance in 4·10^9 of being missed).
    """
    return np.minimum(np.rint(prob * _U32), _U32 - 1).astype(np.uint32)


# --------------------------------------------------------------------------------------
# Random streams
# --------------------------------------------------------------------------------------


_BUFFERS = threading.local()


def draw_buffer(size: int) -> np.ndarray:
    """A per-thread uint32 buffer of at least ``size`` elements, reused across chunks
    (fresh large arrays cost a page fault per 4 KiB on first touch)."""
    buffer = getattr(_BUFFERS, "draws", None)
    if buffer is None or buffer.size < size:
        buffer = np.empty(size, dtype=np.uint32)
        _BUFFERS.draws = buffer
    return buffer[:size]


def account_streams(
    seed: int, account_ids: Sequence[str], n_uniforms: int, out: np.ndarray | None = None
) -> np.ndarray:
    """The first ``n_uniforms`` uint32 draws of each account's stream, shape (c, n_uniforms).

    The stream of an account depends only on ``(seed, account_id)``: BLAKE2b of both gives
    the 256-bit state of an SFC64 generator (whose first 12 outputs are discarded, as its
    own seeding does). ``out`` may supply the (c, n_uniforms) array to fill.

    Why not ``numpy.random.SeedSequence(seed).spawn(n)``: spawned streams are keyed by
    their position, so an account's draws would depend on its row in the portfolio (the
    order of the file, a filtered or re-sorted book, which accounts a chunk or an engine's
    partition holds), and a scenario and its baseline would stop sharing an account's
    random numbers whenever their books differ. Keying by the id with a SeedSequence needs
    a hash of the id all the same (``SeedSequence(seed, spawn_key=(hash,))``), which only
    adds a second mixing step; and either way every draw, hence every reported figure,
    would change.
    """
    if out is None:
        out = np.empty((len(account_ids), n_uniforms), dtype=np.uint32)
    words = (n_uniforms + 1) // 2
    bit_gen = np.random.SFC64(0)
    template = bit_gen.state
    for i, account_id in enumerate(account_ids):
        digest = hashlib.blake2b(
            f"{int(seed)}\x1f{account_id}".encode(), digest_size=32, person=b"workout-mc"
        ).digest()
        template["state"]["state"] = np.frombuffer(digest, dtype="<u8").astype(np.uint64)
        template["has_uint32"] = 0
        template["uinteger"] = 0
        bit_gen.state = template
        bit_gen.random_raw(12)
        out[i] = bit_gen.random_raw(words).view(np.uint32)[:n_uniforms]
    return out

"""Size and seed limits shared by the library and the command line (one definition each).

Kept free of heavy imports: ``commands/common.py`` reads them when ``workout --help``
builds its options.
"""

from __future__ import annotations

#: Largest generated or scenario portfolio (a 10^8-account book needs about 150 GB to
#: generate; larger values are typos).
MAX_ACCOUNTS = 100_000_000
#: Seeds reach CP-SAT, whose random seed is a 32-bit integer.
MAX_SEED = 2**31 - 1
#: Most Monte Carlo paths in one scenario run.
MAX_PATHS = 1_000_000

"""CPU time and peak memory of a benchmark's process, from ``resource.getrusage``.

One definition for every suite (``bench_allocate``, ``bench_scenario``, ``bench_plans``,
``bench_plan_certificates``). CPU time, not wall time, is what the speed ratios compare:
the machines are shared, and system time (page faults of fresh memory) is CPU a run costs
too. With ``children`` the finished child processes (``plan_portfolio --jobs`` workers)
count as well; a worker still running when the figure is taken does not.

``bench_plan_certificates`` also imports this module in its worker process, which runs
another revision of the code: it takes only the standard library.
"""

from __future__ import annotations

import resource

__all__ = ["cpu_seconds", "cpu_times", "peak_rss_bytes"]


def cpu_times(children: bool = True) -> tuple[float, float]:
    """User and system CPU seconds of this process (and, with ``children``, of its
    finished child processes)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    if not children:
        return me.ru_utime, me.ru_stime
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + kids.ru_utime, me.ru_stime + kids.ru_stime


def cpu_seconds(children: bool = True) -> float:
    """User plus system CPU seconds (:func:`cpu_times`)."""
    user, system = cpu_times(children)
    return user + system


def peak_rss_bytes() -> int:
    """Peak resident set size of this process, in bytes (Linux reports ``ru_maxrss`` in
    KiB)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024

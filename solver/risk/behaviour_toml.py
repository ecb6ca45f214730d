"""The behaviour-model TOML that a calibration writes, and reading one back.

:func:`read_behaviour_toml` reads a behaviour-model file into every agreed key (defaults
filled in, each value checked); :func:`calibrated_params` puts a calibration's hazards (and
kappa) onto a base model; :func:`behaviour_toml_text` and :func:`write_behaviour_toml`
give the file, with the data, the method and each estimate with its interval in its
leading comments. ``plan``, ``plan-portfolio`` and scenario files read the result as
their behaviour model.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w

from solver.core.atomic import atomic_open
from solver.core.files import read_toml
from solver.core.model import BehaviourModel
from solver.errors import InputError
from solver.risk._tables import problems_error, shown
from solver.risk.calibration_result import DEFAULT_BEHAVIOUR, HazardCalibration, describe_method

__all__ = [
    "behaviour_toml_text",
    "calibrated_params",
    "read_behaviour_toml",
    "write_behaviour_toml",
]


def read_behaviour_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a behaviour-model TOML into a dict with every agreed key (defaults filled in)."""
    source = Path(path)
    data = read_toml(source, "behaviour-model")
    unknown = sorted(set(data) - set(DEFAULT_BEHAVIOUR))
    if unknown:
        raise InputError(f"{source}: unknown behaviour-model keys: {', '.join(unknown)}")
    problems = [
        f"{source}: {key}: must be a number, got {shown(value)}"
        for key, value in data.items()
        if key != "base_hazard" and (isinstance(value, bool) or not isinstance(value, int | float))
    ]
    hazards = data.get("base_hazard", {})
    if not isinstance(hazards, dict):
        problems.append(f"{source}: base_hazard: must be a table of tier = hazard")
        hazards = {}
    problems += [
        f"{source}: base_hazard.{tier}: must be a number, got {shown(value)}"
        for tier, value in hazards.items()
        if isinstance(value, bool) or not isinstance(value, int | float)
    ]
    if problems:
        raise problems_error(str(source), problems)
    merged = {key: data.get(key, value) for key, value in DEFAULT_BEHAVIOUR.items()}
    merged["base_hazard"] = {**DEFAULT_BEHAVIOUR["base_hazard"], **hazards}
    BehaviourModel.from_dict(merged, source=str(source))  # ranges and tiers (InputError)
    return merged


def calibrated_params(
    calibration: HazardCalibration, base: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The behaviour-model parameters a calibration writes: ``base`` (default: the agreed
    defaults) with the calibrated ``base_hazard`` and the fitted model's ``kappa``: the
    estimate, else the value the fit held it at (``kappa_fixed``), else ``base``'s (no
    affordability data, or every month affordable: see
    :func:`~solver.risk.calibration.calibrate_hazards` for why not 0)."""
    params = {key: value for key, value in (base or DEFAULT_BEHAVIOUR).items()}
    params["base_hazard"] = calibration.base_hazard(params["base_hazard"])
    if calibration.kappa is not None:
        params["kappa"] = calibration.kappa
    elif calibration.kappa_fixed is not None:
        params["kappa"] = calibration.kappa_fixed
    return {key: params[key] for key in DEFAULT_BEHAVIOUR}


def behaviour_toml_text(
    calibration: HazardCalibration, base: Mapping[str, Any] | None = None, source: str = "outcomes"
) -> str:
    """The behaviour-model TOML with calibrated ``base_hazard`` and ``kappa`` (:func:`calibrated_params`).

    Other parameters are copied from ``base`` (default: the agreed defaults). The leading
    comments record the data, the method, and each estimate with its interval.
    """
    ordered = calibrated_params(calibration, base)
    base_hazard = (base or DEFAULT_BEHAVIOUR)["base_hazard"]  # the fallback the note names
    header = [
        f"# Behaviour model calibrated by workout risk from {source}",
        f"# {calibration.confidence:.0%} intervals; " + describe_method(calibration.method),
        *(f"# {line}" for line in calibration.summary(base_hazard).splitlines()[1:]),
    ]
    return "\n".join(header) + "\n" + tomli_w.dumps(ordered)


def write_behaviour_toml(
    path: str | os.PathLike[str],
    calibration: HazardCalibration,
    base: Mapping[str, Any] | None = None,
    source: str = "outcomes",
) -> Path:
    """Write :func:`behaviour_toml_text` to ``path`` atomically and return the path."""
    text = behaviour_toml_text(calibration, base, source)
    with atomic_open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return Path(path)

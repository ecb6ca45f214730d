"""Risk analytics (SPEC §7): roll rates, absorbing chains, early warning, calibration.

* :mod:`solver.risk.rollrates` -- roll-rate matrices with intervals from a status panel
  (:mod:`solver.risk.panel` reads and validates it; :mod:`solver.risk.rollrate_intervals`).
* :mod:`solver.risk.absorption` -- ``absorption(Q, R) -> (N, B)``, expected loss by bucket.
* :mod:`solver.risk.uci` -- the UCI credit-card data as a panel and a feature table.
* :mod:`solver.risk.trees` -- gradient-boosted trees as plain arrays (the pickle-free model).
* :mod:`solver.risk.early_warning` -- PD-next-month score, metrics, tiers, pickle-free model file.
* :mod:`solver.risk.calibration` -- base hazards by tier (and kappa) from outcome tables
  (:mod:`solver.risk.outcomes`; the affordability fit: :mod:`solver.risk.affordability_fit`);
  :mod:`solver.risk.behaviour_toml` -- the behaviour TOML they are written to.
* :mod:`solver.risk.scoring` -- scoring a book, in process or partition by partition on an engine.
* :mod:`solver.risk.reports` -- the roll-rate report (chain, expected loss) and held-out hazards.
* :mod:`solver.risk.plots` -- the commands' charts.
"""

from __future__ import annotations

from solver._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "AbsorptionResult": "solver.risk.absorption",
    "ExpectedLoss": "solver.risk.absorption",
    "absorbing_summary": "solver.risk.absorption",
    "absorption": "solver.risk.absorption",
    "check_chain": "solver.risk.absorption",
    "expected_loss": "solver.risk.absorption",
    "HazardCalibration": "solver.risk.calibration_result",
    "TierHazard": "solver.risk.calibration_result",
    "behaviour_toml_text": "solver.risk.behaviour_toml",
    "binomial_interval": "solver.risk.exact_intervals",
    "calibrate_hazards": "solver.risk.calibration",
    "calibrate_outcome_frame": "solver.risk.calibration",
    "calibrate_outcomes": "solver.risk.calibration",
    "poisson_rate_interval": "solver.risk.exact_intervals",
    "read_behaviour_toml": "solver.risk.behaviour_toml",
    "read_outcomes": "solver.risk.outcomes",
    "simulate_defaults": "solver.risk.outcomes",
    "write_behaviour_toml": "solver.risk.behaviour_toml",
    "EarlyWarningFit": "solver.risk.early_warning_fit",
    "EarlyWarningModel": "solver.risk.early_warning",
    "EarlyWarningParams": "solver.risk.early_warning_fit",
    "assign_tiers": "solver.risk.early_warning",
    "calibration_table": "solver.risk.early_warning",
    "fit_early_warning": "solver.risk.early_warning",
    "fit_uci": "solver.risk.early_warning",
    "ks_statistic": "solver.risk.early_warning",
    "score_accounts": "solver.risk.early_warning",
    "score_uci": "solver.risk.early_warning",
    "tier_table": "solver.risk.early_warning",
    "TreeEnsemble": "solver.risk.trees",
    "RollRateMatrix": "solver.risk.rollrates",
    "RollRateResult": "solver.risk.rollrates",
    "goodman_intervals": "solver.risk.rollrate_intervals",
    "read_panel": "solver.risk.panel",
    "roll_rates": "solver.risk.rollrates",
    "validate_panel": "solver.risk.panel",
    "wilson_interval": "solver.risk.rollrate_intervals",
    "read_uci": "solver.risk.uci",
    "resolve_data_dir": "solver.risk.uci",
    "uci_csv_path": "solver.risk.uci",
    "uci_features": "solver.risk.uci",
    "uci_panel": "solver.risk.uci",
    "ScoreRun": "solver.risk.scoring",
    "score_file": "solver.risk.scoring",
    "score_on_engine": "solver.risk.scoring",
    "RollRateReport": "solver.risk.reports",
    "held_out_hazards": "solver.risk.reports",
    "rollrate_report": "solver.risk.reports",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)

"""Risk analytics (SPEC §7): roll rates, absorbing chains, early warning, calibration.

* :mod:`solver.risk.rollrates` -- roll-rate matrices with intervals from a status panel.
* :mod:`solver.risk.absorption` -- ``absorption(Q, R) -> (N, B)``, expected loss by bucket.
* :mod:`solver.risk.uci` -- the UCI credit-card data as a panel and a feature table.
* :mod:`solver.risk.early_warning` -- PD-next-month score, metrics, tiers, pickle-free model file.
* :mod:`solver.risk.calibration` -- base hazards by tier (and kappa) and the behaviour TOML.
"""

from solver.risk.absorption import (
    AbsorptionResult,
    ExpectedLoss,
    absorbing_summary,
    absorption,
    check_chain,
    expected_loss,
)
from solver.risk.calibration import (
    HazardCalibration,
    TierHazard,
    behaviour_toml_text,
    binomial_interval,
    calibrate_hazards,
    calibrate_outcomes,
    poisson_rate_interval,
    read_behaviour_toml,
    read_outcomes,
    simulate_defaults,
    write_behaviour_toml,
)
from solver.risk.early_warning import (
    EarlyWarningFit,
    EarlyWarningModel,
    EarlyWarningParams,
    TreeEnsemble,
    assign_tiers,
    calibration_table,
    fit_early_warning,
    fit_uci,
    ks_statistic,
    score_accounts,
    score_uci,
    tier_table,
)
from solver.risk.rollrates import (
    RollRateMatrix,
    RollRateResult,
    goodman_intervals,
    read_panel,
    roll_rates,
    validate_panel,
    wilson_interval,
)
from solver.risk.uci import read_uci, resolve_data_dir, uci_csv_path, uci_features, uci_panel

__all__ = [
    "AbsorptionResult",
    "EarlyWarningFit",
    "EarlyWarningModel",
    "EarlyWarningParams",
    "ExpectedLoss",
    "HazardCalibration",
    "RollRateMatrix",
    "RollRateResult",
    "TierHazard",
    "TreeEnsemble",
    "absorbing_summary",
    "absorption",
    "assign_tiers",
    "behaviour_toml_text",
    "binomial_interval",
    "calibrate_hazards",
    "calibrate_outcomes",
    "calibration_table",
    "check_chain",
    "expected_loss",
    "fit_early_warning",
    "fit_uci",
    "goodman_intervals",
    "ks_statistic",
    "poisson_rate_interval",
    "read_behaviour_toml",
    "read_outcomes",
    "read_panel",
    "read_uci",
    "resolve_data_dir",
    "roll_rates",
    "score_accounts",
    "score_uci",
    "simulate_defaults",
    "tier_table",
    "uci_csv_path",
    "uci_features",
    "uci_panel",
    "validate_panel",
    "wilson_interval",
    "write_behaviour_toml",
]

"""Risk analytics (SPEC §7): roll rates, absorbing chains, early warning, calibration."""

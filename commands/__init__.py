"""CLI command modules: parse options, call `solver`, format results. No business logic."""

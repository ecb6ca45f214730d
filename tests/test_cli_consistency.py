"""One command line (issue 15): help, examples, shared option names, README, output layout.

Walks the click command tree of ``cli.workout`` (every group and command, loaded the way
the CLI loads them) and parses command lines with click's own parser without running
them. The ``plan`` table tests run the real command with ``COLUMNS`` set.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import click
import pytest

import cli
from commands.common import VERBOSE_ENV, run_cli
from commands.options import SHARED_HELP, TIME_LIMIT_HELP

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SAMPLE = ROOT / "scenarios" / "sample_account.toml"
FORECAST = ROOT / "tests" / "data" / "forecast" / "account.toml"


# -- helpers -------------------------------------------------------------------------------


def _walk(
    command: click.Command = cli.workout, path: tuple[str, ...] = ("workout",)
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command and group under ``command`` with its path (lazy commands loaded)."""
    yield path, command
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=path[-1])
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None, f"{' '.join(path)} {name} cannot be loaded"
            yield from _walk(sub, (*path, name))


COMMANDS = dict(_walk())


def _options(command: click.Command) -> list[click.Option]:
    return [p for p in command.params if isinstance(p, click.Option)]


def _command_lines(text: str) -> list[str]:
    """The ``workout ...`` command lines of ``text`` ("$ " prompts and "\\" continuations)."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if pending:
            line = pending + " " + line
            pending = ""
        elif line.startswith("$ "):
            line = line[2:].strip()
        if not line.startswith("workout ") and line != "workout":
            continue
        if line.endswith("\\"):
            pending = line[:-1].strip()
            continue
        lines.append(line)
    return lines


def _parse(line: str) -> click.Context:
    """Parse ``line`` with click's parser down to its command; raise on any usage error.

    Checks that every command exists, every option exists and takes its value, the values
    convert to the option's type and required options and arguments are there. Nothing
    runs (only the eager ``--verbose`` callback, which restores itself on close).
    """
    args = shlex.split(line, comments=True)
    assert args[0] == "workout", line
    command: click.Command = cli.workout
    name, rest = "workout", args[1:]
    parent: click.Context | None = None
    with contextlib.ExitStack() as stack:
        while True:
            ctx = stack.enter_context(command.make_context(name, list(rest), parent=parent))
            if not isinstance(command, click.Group):
                return ctx
            rest = [*ctx._protected_args, *ctx.args]
            if not rest:
                raise click.UsageError(f"{line}: a command of '{name}' is missing", ctx)
            name, sub, rest = command.resolve_command(ctx, rest)
            assert sub is not None and name is not None
            command, parent = sub, ctx


def _check_names(line: str) -> None:
    """Every command and option named in a prose snippet exists (values may be placeholders)."""
    words = shlex.split(line)
    command: click.Command = cli.workout
    path = ["workout"]
    alternatives: list[str] = []
    for word in words[1:]:
        if word in ("…", "..."):  # "and so on" in prose
            continue
        if isinstance(command, click.Group) and not word.startswith("-"):
            names = word.split("|")
            for alt in names[1:]:
                alternatives.append(" ".join([*path, alt]))
            ctx = click.Context(command, info_name=path[-1])
            sub = command.get_command(ctx, names[0])
            assert sub is not None, f"{line}: no command {' '.join(path)} {names[0]}"
            command = sub
            path.append(names[0])
        elif word.startswith("--"):
            flag = word.split("=", 1)[0]
            known = {o for p in _options(command) for o in (*p.opts, *p.secondary_opts)}
            assert flag in known, f"{line}: {' '.join(path)} has no option {flag}"
    for alt in alternatives:
        _check_names(alt)


def _readme_snippets() -> tuple[list[str], list[str]]:
    """(command lines of fenced code blocks, ``workout ...`` inline code spans of the prose)."""
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.S | re.M)
    lines = [line for block in blocks for line in _command_lines(block)]
    prose = re.sub(r"^```[^\n]*\n.*?^```", "", text, flags=re.S | re.M)
    spans = [" ".join(s.split()) for s in re.findall(r"`([^`]+)`", prose)]  # may wrap
    spans = [s for s in spans if s.startswith("workout ")]
    return lines, spans


README_LINES, README_SPANS = _readme_snippets()


def _invoke(*args: str) -> tuple[int, str, str]:
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run_cli(cli.workout, list(args))
    return code, out.getvalue(), err.getvalue()


# -- help: examples and option help ------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_help_has_an_example_that_parses(path):
    """Every --help shows at least one `workout ...` example, and each example parses."""
    command = COMMANDS[path]
    ctx = click.Context(command, info_name=" ".join(path))
    text = command.get_help(ctx)
    assert "Example" in text, f"{' '.join(path)} --help has no example"
    examples = _command_lines(text.split("Example", 1)[1])
    assert examples, f"{' '.join(path)} --help has no `workout ...` line after 'Example'"
    for line in examples:
        _parse(line)


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_every_option_has_help(path):
    """Every visible option of every command has a help text."""
    missing = [p.opts[0] for p in _options(COMMANDS[path]) if not p.hidden and not p.help]
    assert missing == [], f"{' '.join(path)}: options without help: {missing}"


def test_verbose_is_listed_and_works(tmp_path):
    """`workout --help` lists --verbose; `workout --verbose CMD` runs and restores the setting."""
    code, out, _ = _invoke("--help")
    assert code == 0 and "--verbose" in out
    code, out, err = _invoke("--verbose", "validate", str(ROOT / "tests/data/portfolio/tiny.csv"))
    assert code == 0, err
    import os

    assert VERBOSE_ENV not in os.environ


def test_verbose_shows_personal_values(tmp_path):
    """With --verbose a message may show a personal value that is withheld without it."""
    account = tmp_path / "a.toml"
    text = SAMPLE.read_text(encoding="utf-8")
    account.write_text(re.sub(r"(?m)^income\s*=.*$", "income = -5", text), encoding="utf-8")
    quiet = _invoke("validate", str(account))
    loud = _invoke("--verbose", "validate", str(account))
    assert quiet[0] == loud[0] == 2
    assert "<withheld>" in quiet[2] and "--verbose" in quiet[2]
    assert "<withheld>" not in loud[2] and "-5" in loud[2]


# -- one meaning per option name ---------------------------------------------------------------


def _type_key(param: click.Parameter) -> tuple:
    """What a value of ``param`` may be: the type's class and its range, choices or path kind."""
    t = param.type
    return (
        type(t).__name__,
        getattr(t, "min", None),
        getattr(t, "max", None),
        tuple(getattr(t, "choices", ()) or ()),
        getattr(t, "file_okay", None),
        getattr(t, "dir_okay", None),
        getattr(t, "exists", None),
        param.is_flag if isinstance(param, click.Option) else None,
    )


def _uses(flag: str, hidden: bool = False) -> dict[str, click.Option]:
    return {
        " ".join(path): p
        for path, command in COMMANDS.items()
        for p in _options(command)
        if flag in p.opts and p.hidden == hidden
    }


@pytest.mark.parametrize("flag", sorted(SHARED_HELP))
def test_shared_option_has_one_meaning(flag):
    """A shared option name has one type and opens its help with the same sentence everywhere."""
    uses = _uses(flag)
    assert uses, f"no command has {flag}"
    keys = {_type_key(p) for p in uses.values()}
    assert len(keys) == 1, f"{flag} has different types: {keys}"
    for where, p in uses.items():
        assert (p.help or "").startswith(SHARED_HELP[flag]), f"{where} {flag}: {p.help!r}"
        if flag == "--time-limit":
            assert TIME_LIMIT_HELP.strip() in (p.help or "")


def test_shared_options_where_they_apply():
    """--seed on every seeded command, --quiet where a bar is drawn, --workers with --engine."""
    seeded = set(_uses("--seed"))
    assert {"workout generate portfolio", "workout allocate", "workout bench gap"} <= seeded
    assert {"workout scenario run", "workout scenario sweep", "workout experiment split"} <= seeded
    assert "workout risk fit" in seeded
    assert set(_uses("--workers")) == set(_uses("--engine"))
    assert {"workout scenario run", "workout scenario sweep", "workout risk score"} <= set(
        _uses("--quiet")
    )
    assert set(_uses("--jobs")) == {
        "workout plan-portfolio",
        "workout scenario run",
        "workout scenario sweep",
    }


def test_model_is_the_behaviour_model_everywhere():
    """--model is the behaviour model; the early-warning model is --ew-model."""
    for where, p in _uses("--model").items():
        assert "behaviour" in (p.help or "").lower(), where
    ew = _uses("--ew-model")
    assert set(ew) == {"workout risk score"}
    assert "early-warning" in (ew["workout risk score"].help or "").lower()
    # the old spellings survive only as hidden, deprecated aliases
    hidden = {**_uses("--model", hidden=True), **_uses("--workers", hidden=True)}
    assert set(hidden) == {"workout risk score", "workout bench gap"}
    assert all(p.deprecated for p in hidden.values())


def test_deprecated_aliases_still_parse():
    """`risk score --model` and `bench gap --workers` parse, with a deprecation message."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        ctx = _parse("workout risk score book.csv --model ew.toml --out s.csv")
        assert ctx.params["model"] == "ew.toml" and ctx.params["model_path"] is None
        ctx = _parse("workout bench gap --workers 3")
        assert ctx.params["workers"] == 3
    assert "deprecated" in err.getvalue().lower() and "--ew-model" in err.getvalue()


def test_ew_model_given_twice_or_not_at_all_is_exit_2(tmp_path):
    """risk score with both spellings, or with neither: exit 2 naming --ew-model, nothing written."""
    out = tmp_path / "s.csv"
    code, _, err = _invoke(
        "risk", "score", "book.csv", "--ew-model", "a.toml", "--model", "b.toml", "--out", str(out)
    )
    assert code == 2 and "--ew-model" in err
    code, _, err = _invoke("risk", "score", "book.csv", "--out", str(out))
    assert code == 2 and "--ew-model" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("seed", ["-1", "2147483648", "1.5"])
def test_seed_range_is_the_same_everywhere(seed):
    """Every --seed refuses a value outside 0..2**31-1 when parsed (a usage error, exit 2)."""
    for p in _uses("--seed").values():
        with pytest.raises(click.BadParameter):
            p.type.convert(seed, p, None)


# -- README and CLI agree ----------------------------------------------------------------------


def test_readme_has_command_lines():
    """The README shows command lines to check (guards against an extraction that finds none)."""
    assert len(README_LINES) >= 8 and len(README_SPANS) >= 5


@pytest.mark.parametrize("line", README_LINES)
def test_readme_command_line_parses(line):
    """Every `workout ...` line of a README code block parses: commands, options, values."""
    _parse(line)


@pytest.mark.parametrize("span", README_SPANS)
def test_readme_inline_command_names_exist(span):
    """Every `workout ...` snippet of the README prose names existing commands and options."""
    _check_names(span)


def test_readme_and_cli_checks_catch_mistakes():
    """The checks fail on an unknown command, an unknown option or a bad value."""
    for wrong in (
        "workout plann x.toml",
        "workout plan x.toml --modle m.toml",
        "workout allocate book.csv --out a.csv --time-limit inf",
        "workout risk score book.csv --ew-model m.toml",  # --out is required
    ):
        with pytest.raises(click.ClickException):
            _parse(wrong)
    with pytest.raises(AssertionError):
        _check_names("workout experiment split|evaluat")
    with pytest.raises(AssertionError):
        _check_names("workout scenario sweep FILE --sett x=1")


# -- bench gap and scenario output -----------------------------------------------------------


def _gap_row(**changes) -> dict:
    row = {
        "instance": "c10200",
        "family": "chu-C",
        "objective": 2826.0,
        "bound": 2799.0,
        "best_known": 2806.0,
        "gap_to_best": 0.00713,
        "time_s": 0.44,
        "status": "FEASIBLE",
        "check": "ok",
        "ok": False,
    }
    row.update(changes)
    return row


def test_bench_gap_line_says_ok_or_miss():
    """An instance line ends in OK or MISS (never 'NOT'), after the solver status column."""
    from commands.bench import _instance_header, _instance_line

    miss = _instance_line(_gap_row())
    ok = _instance_line(_gap_row(ok=True, status="OPTIMAL", gap_to_best=0.0))
    assert miss.split()[-1] == "MISS" and "FEASIBLE" in miss and "NOT" not in miss
    assert ok.split()[-1] == "OK" and "OPTIMAL" in ok
    header = _instance_header(baseline=False)
    assert header.split()[-1] == "target" and "solver status" in header
    assert miss.index("MISS") == header.index("target")


def test_bench_gap_line_without_best_known():
    """No best-known value: '–' for best, gap and target, never 'nan'."""
    from commands.bench import MISSING, _cell, _instance_line

    line = _instance_line(
        _gap_row(
            best_known=math.nan,
            gap_to_best=math.nan,
            baseline_objective=math.nan,
            baseline_gap_to_best=math.nan,
            baseline_status="UNKNOWN",
        )
    )
    assert "nan" not in line.lower() and "MISS" not in line and "OK" not in line
    assert line.count(MISSING) >= 4
    assert _cell("mean_gap_to_best", math.nan) == MISSING


def test_bench_gap_line_with_a_wrong_solution_is_a_miss():
    """A solution that fails the independent check is a MISS and says why."""
    from commands.bench import _instance_line

    line = _instance_line(_gap_row(check="capacity of agent 3 exceeded", ok=False))
    assert "MISS" in line and "capacity of agent 3 exceeded" in line


def test_scenario_timings_label_cached_stages():
    """Stage timings: a cached stage says 'cached', a fast one '<0.1s', never '0.0s'."""
    from commands.scenario_output import timing_text

    result = SimpleNamespace(
        timings={"portfolio": 0.001, "plans": 0.002, "treatments": 0.0, "simulate": 3.24},
        notes={"plans": "plans of 20 accounts (plan stage read from the cache)"},
        cached_stages=("treatments",),
    )
    text = timing_text(result)
    assert text == "portfolio <0.1s, plans cached, treatments cached, simulate 3.2s"
    assert "0.0s" not in text


# -- plan table on a narrow terminal ------------------------------------------------------


@pytest.fixture(scope="module")
def plan_json() -> dict[Path, dict]:
    """`workout plan --format json` of the two accounts (the reference values)."""
    payloads = {}
    for account in (SAMPLE, FORECAST):
        code, out, err = _invoke("plan", str(account), "--format", "json")
        assert code == 0, err
        payloads[account] = json.loads(out)
    return payloads


def _terminal(monkeypatch, columns: int) -> None:
    """Make the CLI's output look like a terminal ``columns`` wide (rich reads these)."""
    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("TTY_INTERACTIVE", "0")
    monkeypatch.setenv("NO_COLOR", "1")


def _plain(text: str) -> str:
    """``text`` without ANSI styles (bold, dim)."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _row_line(lines: list[str], label: str) -> str:
    """The first table line whose first cell is ``label`` (a recommended one has a star)."""
    for line in lines:
        text = line.strip().strip("│┃").strip().removeprefix("★ ")
        if text == label or text.startswith(label + " "):
            return line
    raise AssertionError(f"no row for {label!r}:\n" + "\n".join(lines))


@pytest.mark.parametrize(
    ("account", "columns"),
    [(SAMPLE, 80), (FORECAST, 80), (SAMPLE, 60), (SAMPLE, 120)],
    ids=["sample-80", "forecast-80", "sample-60", "sample-120"],
)
def test_plan_table_never_cuts_a_number(plan_json, monkeypatch, account, columns):
    """On an N-column terminal every line fits, nothing is cut, every NPV equals the JSON's."""
    from rich.cells import cell_len

    _terminal(monkeypatch, columns)
    code, out, err = _invoke("plan", str(account))
    assert code == 0, err
    out = _plain(out)
    lines = out.splitlines()
    assert max(cell_len(line.rstrip()) for line in lines) <= columns
    assert "…" not in out
    payload = plan_json[account]
    table = lines[: next(i for i, line in enumerate(lines) if line.startswith("RECOMMENDED"))]
    for option in (payload["status_quo"], *payload["options"]):
        label = "status quo" if option is payload["status_quo"] else option["label"]
        row = _row_line(table, label)
        if option["npv"] is not None and option["schedule"] is not None:
            npv = f"{option['npv']:,.2f}"
            assert re.search(rf"(?<![\d,.]){re.escape(npv)}(?![\d])", row), (label, npv, row)
    for option in payload["options"]:  # an infeasible option still says why
        if not option["feasible"] and "binding / reason" not in out:
            assert f"{option['label']}: {option['status'].lower()}:" in out


def test_plan_table_keeps_every_column_when_wide(monkeypatch):
    """On a pipe (not a terminal) the table is laid out for 180 columns with every column."""
    monkeypatch.setenv("COLUMNS", "80")  # ignored on a pipe (pytest-xdist sets it)
    monkeypatch.setenv("TTY_COMPATIBLE", "0")
    code, out, err = _invoke("plan", str(SAMPLE))
    assert code == 0, err
    for header in (
        "payments",
        "Δ vs status quo",
        "customer cost",
        "APR",
        "max DTI",
        "binding / reason",
    ):
        assert header in out
    assert "not shown at" not in out and "…" not in out


def test_plan_table_shows_customer_cost_and_grid(plan_json, monkeypatch):
    """The wide table shows each feasible option's customer cost (as in the JSON) and says
    over which payment grid custom and step are proved (issue 13 review, 4 Dec 2026)."""
    monkeypatch.setenv("TTY_COMPATIBLE", "0")
    code, out, err = _invoke("plan", str(SAMPLE))
    assert code == 0, err
    out = _plain(out)
    assert "customer cost" in out
    lines = out.splitlines()
    payload = plan_json[SAMPLE]
    for option in payload["options"]:
        if option["feasible"] and option["schedule"] is not None:
            row = _row_line(lines, option["label"])
            cost = f"{option['customer_cost']:,.2f}"
            assert re.search(rf"(?<![\d,.]){re.escape(cost)}(?![\d])", row), (option, row)
    note = " ".join(line for line in lines if "payment grid" in line or "finer grid" in line)
    custom = next(o for o in payload["options"] if o["label"] == "custom")
    grid = custom["params"]["grid"]
    assert note.startswith("† proved over the plan's payment grid, not over every amount")
    assert f"{len(grid)} amounts from {min(grid):,.2f} to {max(grid):,.2f}" in note
    assert f"(step {custom['params']['grid_step']:,.2f})" in note
    assert "gap" in _row_line(lines, "custom") and "†" in _row_line(lines, "custom")


def test_plan_portfolio_thorough_certifies_custom_over_every_amount(tmp_path, monkeypatch):
    """plan-portfolio --thorough says its custom certificates are over every amount, every
    recommended plan's bound is at least its NPV, and no recommendation is worse than the
    default run's (thorough includes the default search)."""
    import pandas as pd

    from solver.core.generate import generate_portfolio

    monkeypatch.setenv("TTY_COMPATIBLE", "0")
    book = tmp_path / "book.csv"
    generate_portfolio(16, seed=5).to_csv(book, index=False)
    runs = {}
    for name, extra in (("default", ()), ("thorough", ("--thorough",))):
        out_csv = tmp_path / f"{name}.csv"
        code, out, err = _invoke("plan-portfolio", str(book), "--out", str(out_csv), *extra)
        assert code == 0, err
        runs[name] = (" ".join(_plain(out).split()), pd.read_csv(out_csv))
    assert "custom: over every amount" in runs["thorough"][0]
    assert "custom and step: on the account's payment grid" in runs["default"][0]
    default, thorough = runs["default"][1], runs["thorough"][1]
    rec = thorough["status"] == "RECOMMENDED"
    assert rec.any()
    assert (thorough.loc[rec, "bound"] >= thorough.loc[rec, "npv"] - 1e-6).all()
    assert (thorough["npv"].fillna(0) >= default["npv"].fillna(0) - 1e-6).all()
    # the bound_over column says per row what the footer says for the run
    for frame, over in ((default, {"payment_grid"}), (thorough, {"every_amount", "payment_grid"})):
        searched = frame["family"].isin(["custom", "step"])
        assert set(frame.loc[searched, "bound_over"]) <= over
        assert frame.loc[~searched, "bound_over"].isna().all()
    custom = thorough["family"] == "custom"
    assert custom.any() and (thorough.loc[custom, "bound_over"] == "every_amount").any()

"""The ``actreg-search`` command line: each command parses, calls one library function, prints.

Bad input (a study file, an argument, a storage) gives one line on stderr and
exit code 2.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import click
from rich.console import Console
from rich.table import Table

from actreg_search.vocab import DEFAULT_RECYCLE_MB
from actreg_search.errors import UserError

PIPED_WIDTH = 160
"""Columns of tables and progress lines written to a file or a pipe (rich would wrap them at 80)."""


def _width(stream: IO[str]) -> int | None:
    """Rich's own width on a terminal or when COLUMNS is set; else :data:`PIPED_WIDTH`."""
    return None if stream.isatty() or "COLUMNS" in os.environ else PIPED_WIDTH


out = Console(highlight=False, soft_wrap=True, width=_width(sys.stdout))

storage_option = click.option(
    "--storage", default=None, metavar="URL", help="Storage URL (default: ACTREG_STORAGE, then sqlite:///actreg.db)."
)
positive = click.IntRange(min=1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="actreg-search")
def app() -> None:
    """Which regularization, where, and how strong: Optuna searches over Keras regularizers, with repeated seeds."""


@app.command()
@click.argument("study_file", type=click.Path(path_type=Path))
@storage_option
@click.option("--n-trials", type=positive, help="Total finished trials to reach (overrides the file).")
@click.option("--epochs", type=positive, help="Epochs per seed (overrides the file).")
@click.option("--seeds", type=positive, help="Use seeds 0..K-1 (overrides the file).")
@click.option("--jobs", type=positive, default=1, show_default=True, help="Worker processes running trials in parallel, each on its own share of the CPUs.")
@click.option(
    "--recycle-mb", type=click.IntRange(min=0), default=DEFAULT_RECYCLE_MB, show_default=True,
    help="Replace a worker once its memory grew this many MB (0: never; trials then run in this process if --jobs 1).",
)
def run(
    study_file: Path,
    storage: str | None,
    n_trials: int | None,
    epochs: int | None,
    seeds: int | None,
    jobs: int,
    recycle_mb: int,
) -> None:
    """Create or resume a study and run it until it has n_trials finished trials."""
    import optuna

    from actreg_search.parser import load_spec
    from actreg_search.progress import RichProgress
    from actreg_search.storage import resolve_url
    from actreg_search.study import StopReason, run_study

    spec = load_spec(study_file).with_overrides(n_trials=n_trials, epochs=epochs, seeds=seeds)
    url = resolve_url(storage, spec.study.storage)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    with RichProgress(Console(stderr=True, width=_width(sys.stderr))) as progress:
        summary = run_study(spec, url, progress, jobs=jobs, recycle_mb=recycle_mb or None)
    best = f"best {summary.best_value:.4f} (trial {summary.best_trial})" if summary.best_value is not None else "no completed trial"
    out.print(
        f"{summary.study_name}: {summary.reason.value}; {summary.finished}/{summary.target} finished, "
        f"{summary.ran} run now ({summary.failed} failed); {best}; storage {summary.storage}"
    )
    if summary.reason is StopReason.INTERRUPTED:
        raise click.exceptions.Exit(130)


@app.command("list")
@storage_option
def list_cmd(storage: str | None) -> None:
    """List the studies in a storage, with trial counts and best value."""
    from actreg_search.reader import list_studies
    from actreg_search.storage import open_storage, resolve_url

    summaries = list_studies(open_storage(resolve_url(storage), create=False))
    table = Table("study", "complete", "failed", "pruned", "running", "best", "best trial")
    for s in summaries:
        best = f"{s.best_value:.4f}" if s.best_value is not None else "-"
        c = s.counts
        table.add_row(s.name, str(c.complete), str(c.failed), str(c.pruned), str(c.running), best, "-" if s.best_trial is None else str(s.best_trial))
    out.print(table)


@app.command()
@click.argument("name")
@storage_option
@click.option("--top", type=positive, default=10, show_default=True, help="How many trials.")
def show(name: str, storage: str | None, top: int) -> None:
    """Show the top trials: params, mean ± std test accuracy, gap, sparsity."""
    from actreg_search.reader import load_results
    from actreg_search.storage import open_storage, resolve_url

    results = load_results(open_storage(resolve_url(storage), create=False), name)
    title = f"{name}: Pareto front ({', '.join(results.objectives)})" if results.multi_objective else f"{name}: top {top}"
    table = Table("trial", "config", "test acc", "train acc", "gap", "sparsity", "act. mean", "time s", title=title)
    for t in results.best(top):
        table.add_row(
            str(t.number),
            t.config.label() if t.config else str(t.params),
            f"{t.mean('test_accuracy'):.4f} ± {t.std('test_accuracy'):.4f}",
            f"{t.mean('train_accuracy'):.4f}",
            f"{t.mean('gap'):+.4f}",
            f"{t.mean('sparsity'):.3f}",
            f"{t.mean('activation_mean'):.4f}",
            f"{t.wall_time_s:.1f}" if t.wall_time_s is not None else "-",
        )
    out.print(table)
    out.print(results.counts.describe())


@app.command()
@click.argument("name")
@storage_option
@click.option("--top", type=positive, default=1, show_default=True, help="How many of the best configs.")
@click.option("--format", "fmt_name", type=click.Choice(["json", "yaml", "csv"]), default="json", show_default=True)
@click.option("--out", "out_path", type=click.Path(path_type=Path), help="Write the best configs here (default: stdout).")
@click.option("--trials", type=click.Path(path_type=Path), help="Also write every trial as a table (.csv or .parquet).")
@click.option("--model", type=click.Path(path_type=Path), help="Also retrain the best config on its first seed; save as .keras.")
def export(
    name: str,
    storage: str | None,
    top: int,
    fmt_name: str,
    out_path: Path | None,
    trials: Path | None,
    model: Path | None,
) -> None:
    """Export the best configs with per-seed figures, every trial as a table, and the best model."""
    from actreg_search import export as ex
    from actreg_search.reader import load_results
    from actreg_search.storage import open_storage, resolve_url

    fmt = ex.Format(fmt_name)
    for path, check in ((out_path, ex.check_out_path), (trials, ex.check_table_path), (model, ex.check_model_path)):
        if path is not None:
            check(path)
    results = load_results(open_storage(resolve_url(storage), create=False), name)
    text = ex.render_best(ex.best_entries(results, top), fmt)
    if out_path is None:
        sys.stdout.write(text)
    else:
        ex.write_text(out_path, text)
        print(f"wrote the best {top} config(s) to {out_path}", file=sys.stderr)
    if trials is not None:
        rows = ex.write_trials(results, trials)
        print(f"wrote {rows} trials to {trials}", file=sys.stderr)
    if model is not None:
        trial = ex.save_best_model(results, model)
        print(f"wrote trial {trial.number}'s model (seed {trial.seeds[0]}) to {model}", file=sys.stderr)


@app.command()
@click.argument("name")
@storage_option
@click.option("--trials", "pair", type=int, nargs=2, metavar="A B", help="Compare trial B against trial A.")
@click.option("--best-vs-baseline", is_flag=True, help="The best regularized trial against the best unregularized one (default).")
@click.option("--top", type=click.IntRange(min=2), help="Each of the top K trials against the best.")
@click.option("--metric", type=click.Choice(["test_accuracy", "train_accuracy", "train_loss", "gap", "sparsity", "activation_mean"]), default="test_accuracy", show_default=True)
def compare(name: str, storage: str | None, pair: tuple[int, int] | None, best_vs_baseline: bool, top: int | None, metric: str) -> None:
    """Compare trials seed by seed: paired difference, 95% CI, Wilcoxon and t-test p, effect size."""
    from actreg_search import stats
    from actreg_search.reader import load_results
    from actreg_search.storage import open_storage, resolve_url

    if [pair is not None, best_vs_baseline, top is not None].count(True) > 1:
        raise UserError("compare: give one of --trials A B, --best-vs-baseline, --top K")
    results = load_results(open_storage(resolve_url(storage), create=False), name)
    if pair is not None:
        a, b = (stats.trial_by_number(results, n) for n in pair)
        comparisons = [stats.paired_comparison(a, b, metric)]
    elif top is not None:
        comparisons = stats.top_k_vs_best(results, top, metric)
    else:
        baseline, challenger = stats.best_vs_baseline(results)
        comparisons = [stats.paired_comparison(baseline, challenger, metric)]
    table = Table("A", "B", "seeds", "mean B−A", "95% CI", "Wilcoxon p", "paired t p", "d_z", "B ahead / tied / behind")
    for c in comparisons:
        table.add_row(
            str(c.a), str(c.b), str(c.n), f"{c.mean_difference:+.4f}", f"[{c.ci_low:+.4f}, {c.ci_high:+.4f}]",
            f"{c.wilcoxon_p:.4g}", f"{c.t_p:.4g}", f"{c.d_z:.2f}", f"{c.wins} / {c.ties} / {c.losses}",
        )
    out.print(table)
    for c in comparisons:
        out.print(c.describe())


@app.command()
@click.argument("name")
@storage_option
@click.option("--out", "out_path", type=click.Path(path_type=Path), help="Write the markdown here (default: stdout).")
def report(name: str, storage: str | None, out_path: Path | None) -> None:
    """Markdown table of every model: mean ± std and 95% CI, paired comparisons, the tutorial's figures."""
    from actreg_search.export import check_out_path, write_text
    from actreg_search.report import markdown_report
    from actreg_search.reader import load_results
    from actreg_search.storage import open_storage, resolve_url

    if out_path is not None:
        check_out_path(out_path)
    text = markdown_report(load_results(open_storage(resolve_url(storage), create=False), name))
    if out_path is None:
        sys.stdout.write(text)
    else:
        write_text(out_path, text)
        print(f"wrote the report to {out_path}", file=sys.stderr)


@app.command()
@click.argument("name")
@storage_option
@click.option("--out", "out_path", type=click.Path(path_type=Path), default=Path("report.html"), show_default=True, help="The HTML report.")
@click.option("--open", "open_browser", is_flag=True, help="Open the report (or the live page) in a browser.")
@click.option("--serve", is_flag=True, help="Serve a live page that refreshes as trials finish, instead of writing a file.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind with --serve (the page has no authentication).")
@click.option("--port", type=click.IntRange(0, 65535), default=8050, show_default=True, help="Port for --serve.")
def dashboard(name: str, storage: str | None, out_path: Path, open_browser: bool, serve: bool, host: str, port: int) -> None:
    """A self-contained plotly report of a study, or a live local page while it runs."""
    from actreg_search import dashboard as dash
    from actreg_search.storage import resolve_url

    url = resolve_url(storage)
    if serve:
        dash.serve(url, name, host, port, open_browser=open_browser)
        return
    results = dash.load_dashboard(url, name)
    dash.write_report(results, out_path)
    print(f"wrote the report of {name!r} ({len(results.trials)} trials) to {out_path}", file=sys.stderr)
    if open_browser:
        import webbrowser

        webbrowser.open(out_path.resolve().as_uri())


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app; bad input is one line on stderr and exit code 2."""
    try:
        code = app.main(args=argv if argv is not None else sys.argv[1:], prog_name="actreg-search", standalone_mode=False)
        return code if isinstance(code, int) else 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        print("actreg-search: aborted", file=sys.stderr)
        return 130
    except click.ClickException as exc:
        where = f"{exc.ctx.command_path}: " if getattr(exc, "ctx", None) else ""
        print(f"actreg-search: error: {where}{exc.format_message()}", file=sys.stderr)
        return 2
    except UserError as exc:
        print(f"actreg-search: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""The ``actreg-search`` command line: each command parses, calls one library function, prints.

Bad input (a study file, an argument, a storage) gives one line on stderr and
exit code 2. A reader that goes away (``actreg-search list | head -1``, a
dead ``tee``) costs neither a traceback nor the command's own exit code: the
broken stream is pointed at ``/dev/null``, as the Python docs' note on SIGPIPE
advises, and the command finishes as it would have.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from actreg_search import api
from actreg_search.console import PipeSafeConsole, console, emit, flush_streams, note
from actreg_search.errors import UserError

PROG = "actreg-search"


def _out() -> PipeSafeConsole:
    """The console for a command's output on stdout (a new one each time: a broken pipe quiets only its own)."""
    return console(highlight=False, soft_wrap=True)


storage_option = click.option(
    "--storage", default=None, metavar="URL", help="Storage URL (default: ACTREG_STORAGE, then sqlite:///actreg.db)."
)
positive = click.IntRange(min=1)


class _App(click.Group):
    """The command group, with one error and exit-code policy whether run by :func:`main` or Click's ``CliRunner``.

    Bad input (a Click usage error, a :class:`~actreg_search.errors.UserError`) is one line ``actreg-search: error:
    ...`` on stderr and exit code 2; Ctrl-C outside ``run`` is ``actreg-search: aborted`` and 130; a command's own
    exit code (``run``'s 130, ``delete``'s 1) is kept; stdout and stderr are flushed before returning, a broken one
    sent to ``/dev/null`` (:func:`~actreg_search.console.flush_streams`).
    """

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> int:
        """Run a command; return its exit code, or exit with it when ``standalone_mode``."""
        code = self._exit_code(list(args) if args is not None else sys.argv[1:], complete_var, **extra)
        flush_streams()
        if standalone_mode:
            sys.exit(code)
        return code

    def _exit_code(self, args: list[str], complete_var: str | None, **extra: Any) -> int:
        try:
            code = super().main(args=args, prog_name=PROG, complete_var=complete_var, standalone_mode=False, **extra)
            return code if isinstance(code, int) else 0
        except click.exceptions.Exit as exc:
            return exc.exit_code
        except click.exceptions.Abort:
            note(f"{PROG}: aborted")
            return 130
        except click.ClickException as exc:
            ctx = getattr(exc, "ctx", None)
            where = " ".join(ctx.command_path.split()[1:]) if ctx is not None else ""
            note(f"{PROG}: error: {where + ': ' if where else ''}{exc.format_message()}")
            return 2
        except UserError as exc:
            note(f"{PROG}: error: {exc}")
            return 2


@click.group(cls=_App, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="actreg-search")
def app() -> None:
    """Which regularization, where, and how strong: Optuna searches over Keras regularizers, with repeated seeds."""


@app.command()
@click.argument("study_files", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="STUDY_FILE|DIR...")
@storage_option
@click.option("--n-trials", type=positive, help="Total finished trials to reach (overrides the file).")
@click.option("--epochs", type=positive, help="Epochs per seed (overrides the file).")
@click.option("--seeds", type=positive, help="Use seeds 0..K-1 (overrides the file).")
@click.option("--jobs", type=positive, default=1, show_default=True, help="Worker processes running trials in parallel, each on its own share of the CPUs.")
@click.option("--batch", type=positive, help="Trials each worker trains together (overrides the file's [study] batch; default: the engine's).")
@click.option(
    "--recycle-mb", type=click.IntRange(min=0), default=api.DEFAULT_RECYCLE_MB, show_default=True,
    help="Replace a worker once its memory grew this many MB, a safety valve: compiled programs are reused "
    "(0: never; trials then run in this process if --jobs 1).",
)
@click.option("--name", help="Run the study under this name instead of the file's [study] name (one study file only).")
def run(
    study_files: tuple[Path, ...], storage: str | None, n_trials: int | None, epochs: int | None, seeds: int | None,
    jobs: int, batch: int | None, recycle_mb: int, name: str | None,
) -> None:
    """Create or resume a study and run it until it has n_trials finished trials.

    A folder (or several study files) is a suite: its *.toml study files run
    one after the other, by name, each as a single file runs, with the same
    options; each one's summary line is printed as it ends.
    """
    said = lambda summary: emit(api.run_line(summary) + "\n")  # plain text: a study name may hold rich markup
    options: dict[str, Any] = dict(epochs=epochs, seeds=seeds, jobs=jobs, batch=batch, recycle_mb=recycle_mb)
    if len(study_files) == 1 and not study_files[0].is_dir():
        summaries = [api.run(study_files[0], storage, n_trials, name=name, **options)]
        said(summaries[0])
    elif name is not None:
        raise UserError("run: --name renames one study; not with a folder or several study files")
    else:
        summaries = api.run_suite(study_files, storage, n_trials=n_trials, after=said, **options)
    if any(summary.reason is api.StopReason.INTERRUPTED for summary in summaries):
        raise click.exceptions.Exit(130)


@app.command("list")
@storage_option
def list_cmd(storage: str | None) -> None:
    """List the studies in a storage, with trial counts and best value."""
    summaries = api.studies(storage)
    if not summaries:
        _out().print(f"no studies in {api.storage_name(storage)}")
        return
    table = Table("study", "complete", "failed", "pruned", "running", "best", "best trial")
    for s in summaries:
        best = f"{s.best_value:.4f}" if s.best_value is not None else "-"
        c = s.counts
        table.add_row(s.name, str(c.complete), str(c.failed), str(c.pruned), str(c.running), best, "-" if s.best_trial is None else str(s.best_trial))
    _out().print(table)


@app.command()
@click.argument("name")
@storage_option
@click.option("--top", type=positive, default=10, show_default=True, help="How many trials.")
def show(name: str, storage: str | None, top: int) -> None:
    """Show the top trials: params, mean ± std validation (where measured) and test accuracy (a regression's RMSE, an
    autoencoder's reconstruction MSE), the objective's other figure (log loss, R²...), gap, sparsity.

    Under the table: the study's protocol, and the best trial's validation
    figure next to its test figure with the difference (test − validation,
    in points for accuracy); a study that selected on the test set is labelled so.
    """
    results = api.load(name, storage, curves=False)
    shown = results.leading(top)
    complete = results.counts.complete
    ranked_on = "" if results.selects_on_test else f", by {api.Results.words(results.selection_metric)}"
    if results.multi_objective:
        front = len(results.pareto_front())
        title = f"{name}: Pareto front ({', '.join(results.objectives)}): {len(shown)} shown of {front} on it, {complete} complete"
    elif shown:
        title = f"{name}: top {len(shown)} of {complete} complete{ranked_on}"
    else:
        title = f"{name}: no completed trial"
    columns, rows = results.show_table(shown)  # the task's figures: accuracy, or RMSE, or reconstruction MSE
    table = Table(*columns, title=title)
    for row in rows:
        table.add_row(*row)
    _out().print(table)
    _out().print(results.counts.describe())
    for line in results.selection_lines():
        _out().print(line)


@app.command()
@click.argument("name")
@storage_option
@click.option("--top", type=positive, default=1, show_default=True, help="How many of the best configs.")
@click.option("--format", "fmt_name", type=click.Choice(["json", "yaml", "csv"]), default="json", show_default=True)
@click.option("--out", "out_path", type=click.Path(path_type=Path), help="Write the best configs here (default: stdout).")
@click.option("--trials", type=click.Path(path_type=Path), help="Also write every trial as a table (.csv or .parquet).")
@click.option(
    "--model", type=click.Path(path_type=Path),
    help="Also retrain the best config on its first seed, on the whole training split (validation samples included); save as .keras.",
)
def export(
    name: str,
    storage: str | None,
    top: int,
    fmt_name: str,
    out_path: Path | None,
    trials: Path | None,
    model: Path | None,
) -> None:
    """Export the best configs with per-seed figures, every trial as a table, and the best model.

    The best configs go to --out, or to stdout when neither --out, --trials nor
    --model is given; what was written where is said on stderr.
    """
    api.check_export_paths(out_path, trials, model)
    results = api.load(name, storage, curves=False)
    to_stdout = out_path is None and trials is None and model is None
    retrain = results.model_trial() if model is not None else None  # refuses before anything is written
    if to_stdout:
        emit(results.best_text(top, fmt_name))
    elif out_path is not None:
        results.write_best(out_path, top, fmt_name)
        note(f"wrote the best {len(results.best_configs(top))} config(s) to {out_path}")
    if trials is not None:
        results.write_trials(trials)
        note(f"wrote {len(results.trials)} trials to {trials}")
    if model is not None and retrain is not None:
        split = results.split
        samples = f"all {split.train + split.validation} training samples" if split else "the whole training split"
        held = "" if results.selects_on_test else ", the validation samples included"
        epochs = api.retrain_epochs(retrain) if retrain.config is not None else "its epochs"
        note(f"retraining trial {retrain.number} ({retrain.label()}) on seed {retrain.seeds[0]}, {samples}{held}, for {epochs}")
        with api.EpochBar(f"trial {retrain.number} epochs") as bar:
            saved = results.save_model(model, retrain, monitor=bar)  # type: ignore[arg-type] - a Monitor by its methods
        note(f"wrote trial {saved.trial.number}'s model (seed {saved.seed}, {saved.engine} engine) to {model}")


on_option = click.option(
    "--on", type=click.Choice(["test", "validation"]), default=None,
    help="The split a figure named without one (accuracy, rmse, sparsity...) is compared on: test (the default), "
    "the figure reported for trials "
    "already chosen; or validation, the figure they were chosen on (a study that measured it only).",
)


@app.command()
@click.argument("name")
@storage_option
@click.option("--trials", "pair", type=int, nargs=2, metavar="A B", help="Compare trial B against trial A.")
@click.option("--best-vs-baseline", is_flag=True, help="The best regularized trial against the best unregularized one (default).")
@click.option("--top", type=click.IntRange(min=2), help="Each of the top K trials against the best.")
@click.option(
    "--metric", type=click.Choice(api.METRICS), default=None,
    help="The figure compared (default: the study's headline, accuracy, a regression's rmse, an autoencoder's mse): "
    "accuracy, balanced_accuracy, macro_f1, roc_auc, log_loss, rmse, mae, mse (lower is better), r2 or sparsity, "
    "on the split --on names; or a per-seed figure by its full name (test_accuracy, validation_rmse, train_loss, "
    "...), used as named, where a --on naming another split than the figure's own is an error.",
)
@on_option
def compare(
    name: str, storage: str | None, pair: tuple[int, int] | None, best_vs_baseline: bool, top: int | None, metric: str | None,
    on: str | None,
) -> None:
    """Compare trials seed by seed: paired difference, 95% CI, Wilcoxon and t-test p, effect size.

    Trials pair up by seed. The table's title says which figure and split were
    compared. When every seed differs by the same amount the t-test is
    undefined ("n/a") and d_z is shown as +∞ or -∞; the line under the table
    says so.
    """
    if [pair is not None, best_vs_baseline, top is not None].count(True) > 1:
        raise UserError("compare: give one of --trials A B, --best-vs-baseline, --top K")
    if metric is not None:
        api.figure_on(metric, on)  # a metric and a split that do not go together: refused before reading the study
    results = api.load(name, storage, curves=False)
    if pair is not None:
        comparisons = [results.compare(pair[0], pair[1], metric, on=on)]
    elif top is not None:
        comparisons = results.top_vs_best(top, metric, on=on)
    else:
        comparisons = [results.best_vs_baseline(metric, on=on)]
    figure = comparisons[0].metric
    table = Table(*comparisons[0].HEADERS, title=comparisons[0].title)
    for c in comparisons:
        table.add_row(*c.cells())
    _out().print(table)
    if pair is None and top is None:  # which trials the default mode set against each other, and why those
        a, b = results.trial(comparisons[0].a), results.trial(comparisons[0].b)
        _out().print(
            f"baseline A: trial {a.number} ({a.label()}), the best unregularized; B: trial {b.number} ({b.label()}), the best regularized"
        )
    for c in comparisons:
        _out().print(c.describe())
    if figure == results.selection_metric:
        _out().print(
            f"note: {api.Results.words(figure)} is the figure this study ranked its trials on, so the best trial's lead on "
            f"it is optimistic (it was chosen for being ahead); protocol: {results.protocol}"
        )


names_argument = click.argument("names", nargs=-1, metavar="NAME | --suite DIR/...")
suite_option = click.option("--suite", is_flag=True, help="The arguments are a suite: a folder of study files, or several study "
                            "files; their studies side by side, each penalty's best against none.")


def _one(names: tuple[str, ...], command: str) -> str:
    if len(names) != 1:  # several names, or none
        raise UserError(f"{command}: give one study NAME (several studies side by side: {command} --suite DIR/)")
    return names[0]


@app.command()
@names_argument
@storage_option
@suite_option
@click.option("--out", "out_path", type=click.Path(path_type=Path), help="Write the markdown here (default: stdout).")
@on_option
def report(names: tuple[str, ...], storage: str | None, suite: bool, out_path: Path | None, on: str | None) -> None:
    """Markdown report: the protocol, every model's mean ± std and 95% CI, comparisons, the tutorial's figures.

    The best trial's validation and test figures (accuracy, a regression's RMSE,
    an autoencoder's reconstruction MSE) are set side by side. Each trial is
    compared seed by seed with the best trial and with the best unregularized
    one, on the study's objective (accuracy, or the figure it optimizes:
    log_loss, rmse, r2, ...) on the split --on names, with Holm's correction
    over the comparisons listed. With --suite: a row per study, each penalty's best
    (chosen on validation) against none on test; a line per study not run yet.
    """
    api.check_export_paths(out=out_path)
    if suite and on is not None:
        raise UserError("report: --on is for one study; a suite's table is chosen on validation, reported on test")
    target: Any = api.load_suite(names, storage) if suite else api.load(_one(names, "report"), storage, curves=False)
    split = {} if suite else {"on": on}
    if out_path is None:
        emit(target.markdown(**split))
    else:
        target.write_markdown(out_path, **split)
        note(f"wrote the {'suite ' if suite else ''}report to {out_path}")


@app.command()
@names_argument
@storage_option
@suite_option
@click.option("--out", "out_path", type=click.Path(path_type=Path), help="The HTML report.  [default: report.html; suite.html with --suite]")
@click.option("--open", "open_browser", is_flag=True, help="Open the report (or the live page) in a browser.")
@click.option("--serve", is_flag=True, help="Serve a live page that refreshes as trials finish, instead of writing a file.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind with --serve (the page has no authentication).")
@click.option("--port", type=click.IntRange(0, 65535), default=8050, show_default=True, help="Port for --serve.")
def dashboard(
    names: tuple[str, ...], storage: str | None, suite: bool, out_path: Path | None, open_browser: bool, serve: bool, host: str, port: int
) -> None:
    """A self-contained plotly report of a study, or a live local page while it runs; with --suite, one page for a
    suite: its paired differences with none as a heatmap, studies × penalties, and each study's history."""
    if suite:
        if serve:
            raise UserError("dashboard: --serve shows one study live; a suite's page is written (--suite DIR/ --out suite.html)")
        loaded = api.load_suite(names, storage)
        out_path = loaded.write_dashboard(out_path or Path("suite.html"))
        note(f"wrote the suite page ({len(loaded.results)} of {len(loaded.files)} studies run) to {out_path}")
    elif serve:
        api.serve(_one(names, "dashboard"), storage, host, port, open_browser=open_browser)
        return
    else:
        results = api.load(_one(names, "dashboard"), storage)
        out_path = results.write_dashboard(out_path or Path("report.html"))
        note(f"wrote the report of {results.name!r} ({len(results.trials)} trials) to {out_path}")
    if open_browser:
        import webbrowser

        webbrowser.open(out_path.resolve().as_uri())


@app.command()
@click.argument("name")
@storage_option
@click.option("--yes", "-y", is_flag=True, help="Delete without asking.")
def delete(name: str, storage: str | None, yes: bool) -> None:
    """Delete a stored study and every trial in it (asks first, unless --yes).

    Without --yes the question is asked on stderr and read from stdin; no
    answer (no terminal, end of input) or any answer but yes deletes nothing
    and exits with 1.
    """
    counts = api.summary(name, storage).counts
    what = f"study {name!r} ({counts.total} trials: {counts.describe()}) from {api.storage_name(storage)}"
    if not yes:
        try:
            confirmed = click.confirm(f"Delete {what}?", default=False, err=True)
        except click.exceptions.Abort:  # end of input: no answer
            note("")
            confirmed = False
        if not confirmed:
            note(f"{PROG}: nothing deleted; study {name!r} is still there (pass --yes to delete without asking)")
            raise click.exceptions.Exit(1)
    api.delete(name, storage)
    _out().print(f"deleted {what}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``actreg-search`` script: run :data:`app` on ``argv`` and return its exit code.

    Bad input is one line on stderr and exit code 2; see ``_App`` for the rest
    of the policy (interrupts, broken pipes).
    """
    return app.main(args=argv if argv is not None else sys.argv[1:], standalone_mode=False)


if __name__ == "__main__":
    sys.exit(main())

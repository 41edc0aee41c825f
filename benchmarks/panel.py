"""The panel: one command that judges every default on the same real and
generated data, against the peers a user would pick and against the
defaults it replaces.

``python -m benchmarks panel`` fits every method on every data set with
every seed, each fit in a fresh process with one torch, BLAS and numba
thread, ``--jobs`` fits at a time, and writes ``panel.json`` (rewritten
after every fit), ``panel.md`` and ``panel.png`` (ACC and seconds per data
set, the methods side by side). ``--baseline REF`` adds DEC at the defaults
of another commit, fitted from a git worktree of it in the same run.
"""

import argparse
import importlib.util
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from benchmarks import _data
from benchmarks._common import (
    RESULTS_DIR,
    add_set_argument,
    comma_list,
    machine_info,
    machine_summary,
    scores,
    table,
    to_jsonable,
    write_json,
)

REPO = Path(__file__).resolve().parent.parent

# Panel name -> (the name benchmarks._data.load takes, whether it is real).
DATASETS = {
    "digits": ("digits", True),
    "wine": ("wine", True),
    "breast_cancer": ("breast_cancer", True),
    "fashion_test": ("fashion", True),
    "fashion_train5k": ("fashion5k", True),
    "pbmc68k": ("pbmc68k", True),
    "synthetic": ("synthetic", False),
    "synthetic784": ("synthetic784", False),
    "text": ("text", False),
    "cells": ("cells", False),
}
# Method -> the parameters it fixes. The --set values reach the DEC methods
# (dec, dec_paper, baseline) and override these; iic takes those prefixed iic_
# (iic_module__hidden_dims=(32,)). A baseline older than the module__ names
# gets module__hidden_dims and module__latent_dim as hidden_dims and latent_dim.
METHODS = {
    "kmeans": {},
    "umap_gmm": {},
    "leiden": {},
    "dec": {},
    # The paper's pretraining (DEC-keras: 200 epochs of 256 rows) on any data:
    # the reference every pretraining default is judged against.
    "dec_paper": {"pretrain_epochs": 200, "pretrain_batch_size": 256},
    "iic": {},
}
DEC_METHODS = {"dec", "dec_paper", "baseline"}
IIC_DATASETS = {"digits", "fashion_train5k"}  # IIC runs on these only
OPTIONAL = {"umap_gmm": "umap", "leiden": "leidenalg"}  # method -> module
# --quick: a smoke run of the command on 300 rows of two sets, tiny networks,
# without UMAP (numba's compilation alone takes half a minute).
QUICK_DATASETS = ("digits", "text")
QUICK_METHODS = ("kmeans", "leiden", "dec", "dec_paper", "iic")
QUICK_ROWS = 300
QUICK_SETS = {
    **dict(module__hidden_dims=(32,), module__latent_dim=5, pretrain_epochs=10),
    **dict(max_iter=50, n_init=2),
    **dict(iic_max_epochs=2, iic_module__hidden_dims=(32,), iic_n_heads=1),
}
THREAD_VARIABLES = (
    *("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"),
    "NUMBA_NUM_THREADS",
)


# ---------------------------------------------------------------------------
# Data and tasks


def _load(name, args):
    """``(X, y)`` of panel data set ``name``, or a string saying why not."""
    source = DATASETS[name][0]
    if source == "pbmc68k" and _data.pbmc_path(args.pbmc) is None:
        return "scanpy is not installed (pip install scanpy) and --pbmc is not given"
    try:
        ((X, y),) = _data.load(source, fashion=args.fashion, pbmc=args.pbmc).values()
    except FileNotFoundError as exc:  # Fashion-MNIST not installed
        return str(exc)
    if args.quick:
        X, y = _data.subsample(X, y, QUICK_ROWS)
    X = X.tocsr().astype(np.float32) if sp.issparse(X) else np.asarray(X, np.float32)
    return X, np.asarray(y)


def _save(folder, name, X):
    """Write ``X`` for the fit processes; the path they read."""
    path = Path(folder) / f"{name}.npz"
    if sp.issparse(X):
        sp.save_npz(path, X, compressed=False)
        path.with_suffix(".sparse").touch()
    else:
        np.savez(path, X=X)
    return path


def _params(method, overrides, image_shape):
    """Parameters of ``method``'s estimator beyond ``n_clusters`` and the seed.

    ``image_shape`` (None unless the rows are square images) reaches IIC only,
    as its backbone's ``module__image_shape``: DEC's methods are its defaults,
    a dense autoencoder of the flattened pixels, on every data set.
    """
    if method in DEC_METHODS:
        dec = {k: v for k, v in overrides.items() if not k.startswith("iic_")}
        return {**METHODS.get(method, {}), **dec}
    if method == "iic":
        params = {k[4:]: v for k, v in overrides.items() if k.startswith("iic_")}
        shape = {} if image_shape is None else {"module__image_shape": image_shape}
        return {**shape, **params}
    return {}


def _tasks(datasets, methods, seeds):
    """Every fit, the most expensive first so that two workers finish together."""
    tasks = []
    for name in datasets:
        for method in methods:
            if method == "iic" and name not in IIC_DATASETS:
                continue
            for seed in seeds:
                tasks.append({"dataset": name, "method": method, "seed": seed})
    deep = {*DEC_METHODS, "iic"}

    def cost(task):
        info = datasets[task["dataset"]]
        return (task["method"] in deep, info["n_samples"] * info["n_features"])

    return sorted(tasks, key=cost, reverse=True)


# ---------------------------------------------------------------------------
# Fits


def _fit(task, folder, env):
    """Run one fit in a fresh process; its result row (with ``error`` on failure)."""
    stem = Path(folder) / f"{task['dataset']}-{task['method']}-{task['seed']}"
    spec = {key: value for key, value in task.items() if key != "y"}
    Path(f"{stem}.json").write_text(json.dumps(to_jsonable(spec)))
    script = Path(__file__).with_name("_panel_fit.py")
    done = subprocess.run(
        [sys.executable, str(script), f"{stem}.json"],
        env=env,
        capture_output=True,
        text=True,
    )
    key = {k: task[k] for k in ("dataset", "method", "seed")}
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        return {**key, "error": lines[-1] if lines else f"exit {done.returncode}"}
    result = json.loads(Path(f"{stem}-result.json").read_text())
    labels = np.load(f"{stem}-labels.npy")
    return {**key, **scores(task["y"], labels), **result}


def _fit_env():
    """The environment of a fit process: one thread for every library."""
    env = dict(os.environ)
    env.update(dict.fromkeys(THREAD_VARIABLES, "1"))
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO), env.get("PYTHONPATH")])
    )
    return env


def _commit(ref):
    """The full hash of commit ``ref`` of this repository, or None."""
    done = subprocess.run(
        [
            "git",
            "-C",
            str(REPO),
            "rev-parse",
            "--verify",
            "--quiet",
            f"{ref}^{{commit}}",
        ],
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() if done.returncode == 0 else None


def _worktree(commit, folder):
    """Check ``commit`` out into a new git worktree in ``folder``."""
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", "--quiet"]
        + [str(folder), commit],
        check=True,
        capture_output=True,
    )


def _remove_worktree(folder):
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "remove", "--force", str(folder)],
        capture_output=True,
    )


# ---------------------------------------------------------------------------
# Tables and plot


def aggregates(results):
    """Mean and std over seeds per data set and method; failed fits left out."""
    groups = {}
    for row in results["runs"]:
        if "error" not in row:
            groups.setdefault((row["dataset"], row["method"]), []).append(row)
    out = []
    for (dataset, method), rows in groups.items():
        entry = {"dataset": dataset, "method": method, "n_runs": len(rows)}
        for key in ("acc", "nmi", "ari", "seconds", "n_clusters_found"):
            values = [row[key] for row in rows]
            entry[key] = float(np.mean(values))
            entry[key + "_std"] = float(np.std(values))
        peaks = [row["peak_rss_mb"] for row in rows if row.get("peak_rss_mb")]
        entry["peak_rss_mb"] = max(peaks) if peaks else None
        out.append(entry)
    return out


def _ordered(results, real):
    names = [n for n, info in results["datasets"].items() if info["real"] is real]
    methods = results["methods"]
    cells = {(a["dataset"], a["method"]): a for a in results["aggregates"]}
    return [cells[n, m] for n in names for m in methods if (n, m) in cells]


def _pm(entry, key, digits=3):
    return f"{entry[key]:.{digits}f} ± {entry[key + '_std']:.{digits}f}"


def _judgement(results):
    """Per data set: DEC's defaults against the paper's pretraining and the
    baseline, mean ACC and seconds, losses of more than 0.01 in bold."""
    cells = {(a["dataset"], a["method"]): a for a in results["aggregates"]}
    others = [m for m in ("dec_paper", "baseline") if m in results["methods"]]
    if "dec" not in results["methods"] or not others:
        return []
    header = ["data set", "dec ACC", "dec s"]
    for other in others:
        header += [f"{other} ACC", f"{other} s", f"dec − {other}"]
    rows = []
    for name, info in results["datasets"].items():
        dec = cells.get((name, "dec"))
        if dec is None:
            continue
        row = [name + ("" if info["real"] else " (generated)")]
        row += [f"{dec['acc']:.3f}", f"{dec['seconds']:.0f}"]
        for other in others:
            entry = cells.get((name, other))
            if entry is None:
                row += ["–"] * 3
                continue
            gap = dec["acc"] - entry["acc"]
            mark = "**" if gap < -0.01 else ""
            row += [f"{entry['acc']:.3f}", f"{entry['seconds']:.0f}"]
            row += [f"{mark}{gap:+.3f}{mark}"]
        rows.append(row)
    text = [
        "",
        "## The defaults against the paper's pretraining and the baseline",
        "",
        "Mean ACC and fit seconds over the seeds; a loss of more than 0.01 "
        "mean ACC is in bold.",
        "",
    ]
    return text + table(header, rows)


def _summary(results):
    """Mean ACC (mean seconds) per method and data set, one column a set."""
    cells = {(a["dataset"], a["method"]): a for a in results["aggregates"]}
    names = [n for n in results["datasets"] if any(n == d for d, _ in cells)]
    if not names:
        return []
    header = [
        "method",
        *(n + ("" if results["datasets"][n]["real"] else "*") for n in names),
    ]
    rows = []
    for method in results["methods"]:
        row = [method]
        for name in names:
            entry = cells.get((name, method))
            row.append(
                ""
                if entry is None
                else f"{entry['acc']:.3f} ({entry['seconds']:.0f} s)"
            )
        rows.append(row)
    text = ["", "## Summary", "", "Mean ACC (mean fit seconds) over the seeds; "]
    text[-1] += "* generated data."
    return text + [""] + table(header, rows)


def markdown(results):
    """The panel's report: the machine and command, a summary, one table of
    real and one of generated data, the judgement of the defaults, failures."""
    lines = ["# The panel", "", f"- Machine: {machine_summary(results['machine'])}"]
    lines += [f"- Command: `{results['command']}`"]
    if results.get("baseline"):
        base = results["baseline"]
        lines += [f"- Baseline: DEC's defaults at {base['ref']} ({base['commit'][:7]})"]
    lines += [f"- Seeds: {results['seeds']}; `--set`: {results['overrides']}"]
    lines += [f"- Fits at a time: {results['jobs']}, one thread each"]
    for name, why in results.get("skipped", {}).items():
        lines += [f"- Skipped {name}: {why}"]
    if results.get("note"):
        lines += [f"- Note: {results['note']}"]
    lines += _summary(results)
    header = ["data set", "method", "ACC", "NMI", "ARI", "clusters", "seconds"]
    header += ["peak MB"]
    for real, title in ((True, "Real data"), (False, "Generated data")):
        entries = _ordered(results, real)
        if not entries:
            continue
        rows = []
        for e in entries:
            peak = "–" if e["peak_rss_mb"] is None else f"{e['peak_rss_mb']:.0f}"
            rows.append(
                [e["dataset"], e["method"], _pm(e, "acc"), _pm(e, "nmi"), _pm(e, "ari")]
                + [f"{e['n_clusters_found']:.1f}", _pm(e, "seconds", 1), peak]
            )
        lines += ["", f"## {title}", "", "Mean ± std over the seeds.", ""]
        lines += table(header, rows)
    lines += _judgement(results)
    failed = [r for r in results["runs"] if "error" in r]
    if failed:
        lines += ["", "## Failed fits", ""]
        lines += [
            f"- {r['dataset']} {r['method']} seed {r['seed']}: {r['error']}"
            for r in failed
        ]
    return "\n".join(lines) + "\n"


def plot(results, path):
    """ACC (top) and seconds (bottom, log scale) per data set, one bar per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results["datasets"])
    methods = results["methods"]
    cells = {(a["dataset"], a["method"]): a for a in results["aggregates"]}
    fig, axes = plt.subplots(
        2, 1, figsize=(max(8, 1.3 * len(names) + 2), 7), sharex=True
    )
    width = 0.8 / max(len(methods), 1)
    x = np.arange(len(names))
    for i, method in enumerate(methods):
        for ax, key in zip(axes, ("acc", "seconds"), strict=True):
            values = [cells.get((n, method), {}).get(key, np.nan) for n in names]
            errors = [cells.get((n, method), {}).get(key + "_std", 0) for n in names]
            ax.bar(
                x + (i - (len(methods) - 1) / 2) * width,
                values,
                width,
                yerr=errors,
                label=method,
            )
    axes[0].set_ylabel("ACC (mean over seeds)")
    axes[0].set_ylim(0, 1)
    axes[1].set_ylabel("fit seconds")
    axes[1].set_yscale("log")
    axes[1].set_xticks(
        x,
        [n + ("" if results["datasets"][n]["real"] else "*") for n in names],
        rotation=30,
        ha="right",
    )
    axes[0].legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    axes[0].set_title("The panel (* generated data)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write(output, results):
    """``panel.json``, ``panel.md`` and ``panel.png`` in ``output``."""
    results["aggregates"] = aggregates(results)
    write_json(output / "panel.json", results)
    (output / "panel.md").write_text(markdown(results))
    if results["aggregates"]:
        plot(results, output / "panel.png")


# ---------------------------------------------------------------------------
# Command


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks panel",
        description="Judge the defaults: every method on the panel's real and "
        "generated data sets, one thread per fit.",
    )
    add = parser.add_argument
    text = f"comma-separated, from {', '.join(DATASETS)} (default: all)"
    add("--datasets", type=comma_list(DATASETS), help=text)
    text = f"comma-separated, from {', '.join(METHODS)} (default: all)"
    add("--methods", type=comma_list(METHODS), help=text)
    add("--seeds", type=comma_list(item=int), default=[0, 1, 2], help="default 0,1,2")
    add("--baseline", metavar="REF", help="also fit DEC's defaults at this commit")
    add("--jobs", type=int, default=2, help="fits at a time (default 2)")
    add("--fashion", metavar="PATH", help="Fashion-MNIST's IDX folder or .npz")
    add("--pbmc", metavar="PATH", help="pbmc68k_reduced's .h5ad (default: scanpy's)")
    add("--output", type=Path, help="output folder")
    text = f"a smoke run: {', '.join(QUICK_DATASETS)} cut to {QUICK_ROWS} rows, "
    text += f"{', '.join(QUICK_METHODS)} with tiny networks, seed 0"
    add("--quick", action="store_true", help=text)
    add_set_argument(parser, help_extra="; DEC's, or IIC's prefixed iic_")
    text = "rewrite panel.md and panel.png in DIR from its panel.json; fit nothing"
    add("--rewrite", metavar="DIR", type=Path, help=text)
    return parser


def main(argv=None):
    """Run the panel; return 0, or 1 if some fit failed."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _parser()
    args = parser.parse_args(argv)
    if args.rewrite:
        write(args.rewrite, json.loads((args.rewrite / "panel.json").read_text()))
        return 0
    if args.jobs < 1:
        parser.error("--jobs must be at least 1.")
    commit = args.baseline and _commit(args.baseline)
    if args.baseline and not commit:
        parser.error(f"--baseline {args.baseline}: no such commit in {REPO}.")
    overrides = dict(args.set)
    if args.quick:
        overrides = {**QUICK_SETS, **overrides}
        args.seeds = args.seeds if "--seeds" in argv else [0]
    names = args.datasets or [*(QUICK_DATASETS if args.quick else DATASETS)]
    methods = args.methods or [*(QUICK_METHODS if args.quick else METHODS)]
    skipped = {}
    for method in list(methods):
        module = OPTIONAL.get(method)
        if module and importlib.util.find_spec(module) is None:
            skipped[method] = f"{module} is not installed"
            methods.remove(method)
    if args.baseline:
        methods.append("baseline")

    output = args.output or RESULTS_DIR / f"panel-{time.strftime('%Y%m%d-%H%M%S')}"
    output.mkdir(parents=True, exist_ok=True)
    results = {
        "machine": machine_info(),
        "command": "python -m benchmarks panel " + shlex.join(argv),
        "seeds": args.seeds,
        "methods": methods,
        "overrides": to_jsonable(overrides),
        "jobs": args.jobs,
        "baseline": None,
        "datasets": {},
        "skipped": skipped,
        "runs": [],
    }
    with tempfile.TemporaryDirectory(prefix="skdec-panel-") as folder:
        labels = {}
        for name in names:
            loaded = _load(name, args)
            if isinstance(loaded, str):
                skipped[name] = loaded
                print(f"Skipping {name}: {loaded}.", file=sys.stderr)
                continue
            X, y = loaded
            side = _data.image_shape(name, X.shape[1])
            results["datasets"][name] = {
                "real": DATASETS[name][1],
                "n_samples": X.shape[0],
                "n_features": X.shape[1],
                "n_clusters": len(np.unique(y)),
                "sparse": sp.issparse(X),
                "path": str(_save(folder, name, X)),
                "image_shape": side,
            }
            labels[name] = y
        worktree = Path(folder) / "baseline"
        if args.baseline:
            _worktree(commit, worktree)
            results["baseline"] = {"ref": args.baseline, "commit": commit}
        try:
            _run(results, labels, folder, worktree, overrides, output)
        finally:
            if args.baseline:
                _remove_worktree(worktree)
    write(output, results)
    print(
        markdown(results) + f"\nWrote {output / 'panel.json'}, panel.md and panel.png"
    )
    return int(any("error" in row for row in results["runs"]))


def _derived_paper_row(dec_row):
    """dec's row as dec_paper's, where dec's fit was the paper's pretraining
    (no stage ended on a plateau: then "auto" ran 200 epochs of 256 rows,
    the same computation as dec_paper's fit); else None."""
    if "error" in dec_row or dec_row.get("plateau_stops") != 0:
        return None
    return {**dec_row, "method": "dec_paper", "derived_from": "dec"}


def _run(results, labels, folder, worktree, overrides, output):
    """Fit every task, ``jobs`` at a time, the costliest ready task first.

    dec_paper waits for dec's fit of the same data and seed and reuses it
    where they are the same computation (:func:`_derived_paper_row`), unless
    --set changes pretraining's epochs or batch size.
    """
    datasets = results["datasets"]
    env = _fit_env()
    ready = _tasks(datasets, results["methods"], results["seeds"])
    for task in ready:
        info = datasets[task["dataset"]]
        task.update(
            n_clusters=info["n_clusters"],
            data=info["path"],
            params=_params(task["method"], overrides, info["image_shape"]),
            repo=str(REPO),
            skdec_path=str(worktree) if task["method"] == "baseline" else None,
            y=labels[task["dataset"]],
        )
    reuse = "dec" in results["methods"] and not {
        "pretrain_epochs",
        "pretrain_batch_size",
    } & set(overrides)
    waiting = {}
    if reuse:
        waiting = {_key(t): t for t in ready if t["method"] == "dec_paper"}
        ready = [t for t in ready if t["method"] != "dec_paper"]
    total, running = len(ready) + len(waiting), {}
    with ThreadPoolExecutor(results["jobs"]) as pool:
        while ready or running:
            while ready and len(running) < results["jobs"]:
                task = ready.pop(0)
                running[pool.submit(_fit, task, folder, env)] = task
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                del running[future]
                rows = [future.result()]
                row = rows[0]
                paper = waiting.pop(_key(row), None) if row["method"] == "dec" else None
                if paper is not None and (derived := _derived_paper_row(row)):
                    rows.append(derived)
                elif paper is not None:
                    ready.insert(0, paper)  # the costliest kind: first
                for row in rows:
                    results["runs"].append(row)
                    _report(row, len(results["runs"]), total)
                write(output, results)  # an interrupted panel keeps what it did


def _key(row):
    return row["dataset"], row["seed"]


def _report(row, done, total):
    what = f"{row['dataset']} {row['method']} seed {row['seed']}"
    score = row.get("error") or f"ACC {row['acc']:.3f}, {row['seconds']:.1f} s"
    print(f"[{done}/{total}] {what}: {score}", file=sys.stderr, flush=True)

"""Summaries of benchmark runs: aggregates, a markdown table, a bar chart."""

import json

import numpy as np

from benchmarks._machine import machine_summary

METRICS = ("acc", "nmi", "ari")


def _mean_std(values):
    values = np.asarray(values, dtype=float)
    # Sample standard deviation over seeds; 0 for a single seed.
    std = values.std(ddof=1) if len(values) > 1 else 0.0
    return float(values.mean()), float(std)


def aggregate(rows):
    """Mean and standard deviation over seeds per (data set, method).

    Failed runs are counted but left out of the statistics. Groups keep the
    order in which the runs were made.
    """
    groups = {}
    for row in rows:
        groups.setdefault((row["dataset"], row["method"]), []).append(row)
    summaries = []
    for (dataset, method), group in groups.items():
        ok = [row for row in group if "error" not in row]
        summary = {
            "dataset": dataset,
            "method": method,
            "n_runs": len(group),
            "n_failed": len(group) - len(ok),
        }
        if ok:
            for name in (*METRICS, "fit_seconds"):
                mean, std = _mean_std([row[name] for row in ok])
                summary[f"{name}_mean"], summary[f"{name}_std"] = mean, std
            for name in ("peak_rss_mb", "fit_rss_increase_mb", "peak_gpu_mb"):
                values = [row[name] for row in ok if row.get(name) is not None]
                summary[f"{name}_max"] = max(values) if values else None
        summaries.append(summary)
    return summaries


def _cell(summary, name, digits=3):
    mean, std = summary[f"{name}_mean"], summary[f"{name}_std"]
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _memory_cell(summary):
    peak, increase = summary["peak_rss_mb_max"], summary["fit_rss_increase_mb_max"]
    if peak is None:
        return "n/a"
    return f"{peak:.0f}" + (f" (+{increase:.0f})" if increase is not None else "")


def markdown(results):
    """The results as a markdown document with one table row per group."""
    info = results["machine"]
    lines = [
        "# skdec benchmark",
        "",
        f"- Machine: {machine_summary(info)}",
        f"- Seeds: {', '.join(map(str, results['seeds']))}; "
        f"runs {'in fresh subprocesses' if results['subprocess'] else 'in-process'}",
        f"- Overrides (--set): {results['overrides'] or 'none'}",
        f"- Command: `{results['command']}`",
    ]
    for method, reason in results["skipped_methods"].items():
        lines.append(f"- {method} skipped: {reason}")
    for method, names in results.get("not_applicable", {}).items():
        lines.append(
            f"- {method}: not run on {', '.join(names)} (rows are not square images)"
        )
    derived = {
        row["method"]: row["derived_from"]
        for row in results["runs"]
        if row.get("derived_from")
    }
    for method, source in derived.items():
        lines.append(
            f"- {method}: read off the {source} fits (the partition their "
            "clustering stage starts from), not fitted apart; fit s is the "
            "time to that point, and no memory is measured"
        )
    lines += [
        "",
        "ACC, NMI and ARI are mean ± standard deviation over seeds; fit s is the "
        "time of `fit` alone; peak MB is the largest peak resident memory of a "
        "run, and in brackets how much it grew during the fit.",
        "",
        "| dataset | method | ACC | NMI | ARI | fit s | peak MB |",
        "|---|---|---|---|---|---|---|",
    ]
    for summary in results["aggregates"]:
        head = f"| {summary['dataset']} | {summary['method']} |"
        if summary["n_runs"] == summary["n_failed"]:
            lines.append(head + f" failed ({summary['n_failed']} runs) | | | | |")
            continue
        failed = f" ({summary['n_failed']} failed)" if summary["n_failed"] else ""
        lines.append(
            f"{head} {_cell(summary, 'acc')}{failed} | {_cell(summary, 'nmi')} | "
            f"{_cell(summary, 'ari')} | {_cell(summary, 'fit_seconds', 1)} | "
            f"{_memory_cell(summary)} |"
        )
    lines += _heads_table(results["runs"])
    errors = [row for row in results["runs"] if "error" in row]
    if errors:
        lines += ["", "## Failed runs", ""]
        lines += [
            f"- {row['dataset']} / {row['method']} / seed {row['seed']}: {row['error']}"
            for row in errors
        ]
    return "\n".join(lines) + "\n"


def _heads_table(runs):
    """Per-run ACC of the chosen, best and worst head of multi-head methods."""
    rows = [row for row in runs if row.get("head_acc")]
    if not rows:
        return []
    lines = [
        "",
        "## Heads (IIC)",
        "",
        "ACC of the head chosen without labels (lowest loss), of the best and "
        "worst head of the same fit, and their spread.",
        "",
        "| dataset | method | seed | chosen | best | worst | spread |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        best, worst = max(row["head_acc"]), min(row["head_acc"])
        lines.append(
            f"| {row['dataset']} | {row['method']} | {row['seed']} | "
            f"{row['acc']:.3f} | {best:.3f} | {worst:.3f} | {best - worst:.3f} |"
        )
    return lines


def plot_accuracy(results, path):
    """Grouped bar chart of ACC (mean ± std) per data set and method, as PNG."""
    # Figure without pyplot: no global state and no GUI backend needed.
    from matplotlib.figure import Figure

    summaries = [s for s in results["aggregates"] if "acc_mean" in s]
    datasets = list(dict.fromkeys(s["dataset"] for s in results["aggregates"]))
    methods = list(dict.fromkeys(s["method"] for s in results["aggregates"]))
    width = 0.8 / len(methods)
    figure = Figure(figsize=(max(6.0, 1.2 * len(datasets) * len(methods) ** 0.5), 4))
    axes = figure.subplots()
    for i, method in enumerate(methods):
        by_dataset = {s["dataset"]: s for s in summaries if s["method"] == method}
        x = [j for j, d in enumerate(datasets) if d in by_dataset]
        axes.bar(
            [j - 0.4 + (i + 0.5) * width for j in x],
            [by_dataset[datasets[j]]["acc_mean"] for j in x],
            width,
            yerr=[by_dataset[datasets[j]]["acc_std"] for j in x],
            capsize=3,
            label=method,
        )
    axes.set_xticks(range(len(datasets)), datasets, rotation=20, ha="right")
    axes.set_ylim(0, 1)
    axes.set_ylabel("clustering accuracy")
    axes.set_title(f"ACC, mean ± std over {len(results['seeds'])} seed(s)")
    axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def to_jsonable(value):
    """``value`` with tuples, numpy scalars and arrays made JSON-able.

    Anything else JSON cannot hold (a class, a function) becomes its repr.
    """
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def write_json(path, results):
    """Write ``results`` as indented JSON, replacing the file in one step."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(to_jsonable(results), indent=1) + "\n")
    tmp.replace(path)

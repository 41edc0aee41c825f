"""The one table writer: every command writes its results JSON, then the
markdown this module makes of it; ``python -m benchmarks table PATH...``
rewrites the markdown of results files (or of every one in a folder)."""

import argparse
import functools
import json
from pathlib import Path

import numpy as np

from benchmarks._common import machine_summary


def to_jsonable(value):
    """``value`` with tuples, numpy scalars and arrays made JSON-able; anything
    else JSON cannot hold (a class, a callback) becomes its repr."""
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
    tmp = Path(path).with_suffix(".tmp")
    tmp.write_text(json.dumps(to_jsonable(results), indent=1) + "\n")
    tmp.replace(path)


def write_results(path, results, markdown):
    """Write ``results`` as JSON at ``path`` and ``markdown(results)`` beside it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, results)
    text = markdown(results)
    path.with_suffix(".md").write_text(text)
    print(text + f"\nWrote {path} and {path.with_suffix('.md').name}")


def table(header, rows):
    """Markdown table lines: the header, its rule, one line per row."""
    lines = ["| " + " | ".join(map(str, header)) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(map(str, row)) + " |" for row in rows]


def _f(value, digits=3):
    return "n/a" if value is None else f"{value:.{digits}f}"


def suite_aggregates(results):
    """Mean and sample standard deviation over seeds per data set and method,
    in the order asked; failed runs are counted and left out."""
    datasets = {name: i for i, name in enumerate(results["datasets"])}
    methods = {name: i for i, name in enumerate(results["methods"])}

    def order(row):
        return datasets.get(row["dataset"], 1e9), methods.get(row["method"], 1e9)

    groups = {}
    for row in sorted(results["runs"], key=order):
        groups.setdefault((row["dataset"], row["method"]), []).append(row)
    summaries = []
    for (dataset, method), group in groups.items():
        ok = [row for row in group if "error" not in row]
        summary = {"dataset": dataset, "method": method, "n_runs": len(group)}
        summary["n_failed"] = len(group) - len(ok)
        summary["seeds"] = [row["seed"] for row in ok]
        for name in ("acc", "nmi", "ari", "fit_seconds") if ok else ():
            values = np.array([row[name] for row in ok], dtype=float)
            summary[f"{name}_mean"] = float(values.mean())
            summary[f"{name}_std"] = float(values.std(ddof=1)) if len(ok) > 1 else 0.0
        for name in ("peak_rss_mb", "fit_rss_increase_mb", "peak_gpu_mb"):
            values = [row[name] for row in ok if row.get(name) is not None]
            summary[f"{name}_max"] = max(values) if values else None
        summaries.append(summary)
    return summaries


def _cells(s):
    """ACC, NMI, ARI, fit s (mean ± std) and peak MB of a summary."""
    if s["n_runs"] == s["n_failed"]:
        return [f"failed ({s['n_failed']} runs)", "", "", "", ""]
    ms = [
        f"{s[f'{name}_mean']:.{d}f} ± {s[f'{name}_std']:.{d}f}"
        for name, d in (("acc", 3), ("nmi", 3), ("ari", 3), ("fit_seconds", 1))
    ]
    ms[0] += f" ({s['n_failed']} failed)" if s["n_failed"] else ""
    peak, increase = s["peak_rss_mb_max"], s["fit_rss_increase_mb_max"]
    memory = "n/a" if peak is None else f"{peak:.0f}"
    memory += f" (+{increase:.0f})" if peak is not None and increase is not None else ""
    return [*ms, memory]


def suite_markdown(results):
    """The suite's table, one row per data set and method, and IIC's heads."""
    where = "in fresh subprocesses" if results["subprocess"] else "in-process"
    runs = results["runs"]
    derived = {r["method"]: r["derived_from"] for r in runs if "derived_from" in r}
    lines = [
        "# skdec benchmark",
        "",
        f"- Machine: {machine_summary(results['machine'])}",
        f"- Seeds: {', '.join(map(str, results['seeds']))}; runs {where}",
        f"- Overrides (--set): {results['overrides'] or 'none'}",
        f"- Command: `{results['command']}`",
        *(f"- {m} skipped: {why}" for m, why in results["skipped_methods"].items()),
        *(
            f"- {method}: not run on {', '.join(names)} (rows are not square images)"
            for method, names in results.get("not_applicable", {}).items()
        ),
        *(
            f"- {method}: read off the {source} fits (the partition their "
            "clustering stage starts from), not fitted apart; fit s is the "
            "time to that point, and no memory is measured"
            for method, source in derived.items()
        ),
        "",
        "ACC, NMI and ARI are mean ± standard deviation over seeds; fit s is the "
        "time of `fit` alone; peak MB is the largest peak resident memory of a "
        "run, and in brackets how much it grew during the fit.",
        "",
    ]
    rows = [[s["dataset"], s["method"], *_cells(s)] for s in suite_aggregates(results)]
    header = ["dataset", "method", "ACC", "NMI", "ARI", "fit s", "peak MB"]
    lines += table(header, rows)
    if heads := [r for r in runs if r.get("head_acc")]:
        text = "ACC of the head chosen without labels (lowest loss), of the best "
        text += "and worst head of the same fit, and their spread."
        lines += ["", "## Heads (IIC)", "", text, ""]
        rows = [
            [r["dataset"], r["method"], r["seed"], f"{r['acc']:.3f}"]
            + [f"{x:.3f}" for x in (max(h), min(h), max(h) - min(h))]
            for r in heads
            if (h := r["head_acc"])
        ]
        header = ["dataset", "method", "seed", "chosen", "best", "worst", "spread"]
        lines += table(header, rows)
    if results.get("stopped_early"):
        lines += ["", f"Stopped early: {results['stopped_early']}"]
    if results.get("note"):
        lines += ["", f"Note: {results['note']}"]
    if errors := [r for r in runs if "error" in r]:
        lines += ["", "## Failed runs", ""]
        lines += [
            f"- {r['dataset']} / {r['method']} / seed {r['seed']}: {r['error']}"
            for r in errors
        ]
    return "\n".join(lines) + "\n"


def speed_markdown(results):
    """The speed report: epoch ratio against plain torch, refresh of P."""
    settings = ", ".join(f"{k}={v!r}" for k, v in results["overrides"].items())
    settings = "defaults + " + settings if settings else "defaults"
    lines = [
        "# skdec speed",
        "",
        f"- Machine: {machine_summary(results['machine'])}",
        f"- Command: `{results['command']}`",
        f"- DECClusterer settings: {settings}",
    ]
    if epoch := results.get("epoch"):
        loops = {"skdec `pretrain_end_to_end`": "skdec", "hand-written": "reference"}
        rows = [
            [name, f"{epoch[f'{key}_median_seconds']:.3f}"]
            + [", ".join(f"{s:.3f}" for s in epoch[f"{key}_seconds"])]
            for name, key in loops.items()
        ]
        lines += [
            "",
            "## One pretraining epoch against a hand-written torch loop",
            "",
            f"Network {'-'.join(map(str, epoch['network']))} and mirror, "
            f"{epoch['n_samples']} random samples, batch {epoch['batch_size']}, "
            f"{epoch['optimizer']} lr {epoch['learning_rate']}, device "
            f"{epoch['device']}; median of {epoch['repeats']} epochs each, "
            "alternating, after one warm-up epoch each.",
            "",
            *table(["loop", "median s", "all s"], rows),
            "",
            f"**Ratio {epoch['ratio']:.3f}** (bar: at most {epoch['max_ratio']}, "
            f"{'met' if epoch['passed'] else 'MISSED'}).",
        ]
    if refresh := results.get("refresh"):
        source = refresh["input"]
        if source == "generated":
            source += " with skdec.datasets.make_nonlinear_blobs, no --mnist given"
        lines += [
            "",
            "## Refresh of the target distribution P",
            "",
            f"{refresh['n_samples']} x {refresh['n_features']} ({source}); network "
            f"{'-'.join(map(str, refresh['network']))}, device {refresh['device']}: "
            f"**{refresh['median_seconds']:.3f} s per refresh** (median of "
            f"{len(refresh['seconds'])}, after one warm-up).",
        ]
    return "\n".join(lines) + "\n"


_SHOWN_PARAMS = (
    *("batch_size", "hidden_dims", "latent_dim", "max_iter", "n_init"),
    *("pretrain_epochs", "pretrain_optimizer", "random_state", "tol"),
    "update_interval",
)
# Figures of the table that are medians over repeats (memory: the largest).
_MEDIANS = (
    *("pretrain_epoch_seconds", "kmeans_seconds", "refresh_seconds"),
    *("step_seconds", "fit_seconds", "predict_seconds", "ari_predict"),
)


def combine_repeats(results):
    """One result per size: median times over repeats, largest memory."""
    groups = {}
    for result in results:
        if "error" not in result:
            groups.setdefault(result["n_samples"], []).append(result)
    combined = [result for result in results if "error" in result]
    for group in groups.values():
        row = dict(max(group, key=lambda r: r["rss_anon_peak_mb"]))
        for name in _MEDIANS:
            values = [r[name] for r in group if r.get(name) is not None]
            row[name] = float(np.median(values)) if values else None
        row["n_repeats"] = len(group)
        combined.append(row)
    return combined


def _num(key, digits, scale=1.0):
    """A column: ``r[key] * scale`` (``scale`` may be a function of ``r``)."""

    def cell(r):
        factor = scale(r) if callable(scale) else scale
        return _f(None if r.get(key) is None else factor * r[key], digits)

    return cell


def _with_derived(r):
    """A scale result with the figures its columns show but do not hold."""
    stages = r["stage_seconds"]
    return {
        **r,
        "over_mb": r["rss_anon_peak_mb"] - r["rss_anon_baseline_mb"],
        "pretraining_seconds": stages.get("pretraining"),
        "clustering_seconds": stages.get("clustering"),
        "kind": r["input"] + (" + TfidfTransformer" if r.get("pipeline") else ""),
    }


def _per_row(r):
    return 1e6 / r["n_samples"]


_N = ("n", lambda r: f"{r['n_samples']:,}")
_ADDED = ("peak anon. added (MB)", _num("peak_anon_added_mb", 0))
_OVER = ("over post-warm-up baseline (MB)", _num("over_mb", 0))
_KMEANS = ("k-means start (s)", _num("kmeans_seconds", 2))
_REFRESH = ("s / P refresh", _num("refresh_seconds", 2))
_STEP = ("ms / clustering step", _num("step_seconds", 2, 1000))
_FIT, _PREDICT = _num("fit_seconds", 1), ("predict (s)", _num("predict_seconds", 1))
_ARI = ("ARI", _num("ari_predict", 3))
# The columns of each scale report: (header, cell of a result).
SCALE_COLUMNS = {
    "table2": [
        ("n", lambda r: f"{r['n_samples'] * r['world']:,}"),
        ("rank", lambda r: r["rank"]),
        ("rows", _N[1]),
        *(_ADDED, ("s / epoch", _num("pretrain_epoch_seconds", 2))),
        *(_KMEANS, _REFRESH, _STEP, ("fit (s)", _FIT)),
        ("ARI (own rows)", _ARI[1]),
    ],
    "table": [
        *(_N, _ADDED, _OVER),
        ("bytes / row", _num("over_mb", 0, lambda r: 2**20 / r["n_samples"])),
        ("s / pretraining epoch", _num("pretrain_epoch_seconds", 2)),
        ("µs / row / epoch", _num("pretrain_epoch_seconds", 2, _per_row)),
        *(_KMEANS, _REFRESH),
        ("µs / row / refresh", _num("refresh_seconds", 2, _per_row)),
        *(_STEP, ("fit total (s)", _FIT), _PREDICT, _ARI),
    ],
    "memmap": [
        *(_N, ("input", lambda r: r["kind"]), _ADDED, _OVER),
        *(("target (MB)", lambda r: r["target_mb"]), ("fit (s)", _FIT), _PREDICT),
        ("pretraining (s)", _num("pretraining_seconds", 1)),
        _KMEANS,
        ("clustering stage (s)", _num("clustering_seconds", 1)),
        *(_REFRESH, _ARI, ("peak during", lambda r: str(r["peak"].get("phase")))),
    ],
}
SCALE_COLUMNS["sparse"] = SCALE_COLUMNS["memmap"]
_SCALE_TITLES = {"table2": "table, 2 processes (data-parallel, gloo on loopback)"}


def scale_markdown(which, results):
    """The report of one scale measurement."""
    runs = results["results"]
    lines = [f"# Scale: {_SCALE_TITLES.get(which, which)}", ""]
    lines += [machine_summary(results["machine"]), "", f"    {results['command']}", ""]
    if which != "table2":
        params = next((r["params"] for r in runs if "params" in r), {})
        shown = ", ".join(f"{k}={params[k]!r}" for k in _SHOWN_PARAMS if k in params)
        lines += [f"DECClusterer({shown})", ""]
    if which == "table":
        runs = combine_repeats(runs)
        n = max((r["n_repeats"] for r in runs if "n_repeats" in r), default=1)
        text = f"Median over {n} fresh processes per size (peak memory: the largest)."
        lines += [text, ""]
    runs = [r if "error" in r else _with_derived(r) for r in runs]
    header, cells = zip(*SCALE_COLUMNS[which], strict=True)
    rows = [
        [f"failed: {r['error'][-200:]!r}"]
        if "error" in r
        else [cell(r) for cell in cells]
        for r in runs
    ]
    lines += table(header, rows)
    if which == "table2":
        return "\n".join(lines) + "\n"
    lines.append("")
    lines += [
        f"- n={r['n_samples']:,} ({r['kind']}): peak {r['rss_anon_peak_mb']:.0f} MB "
        f"anonymous (after imports and data {r['rss_anon_after_data_mb']:.0f} "
        f"MB) at {r['peak']['seconds']:.1f} s, in "
        f"{' > '.join(r['peak']['where'][-3:])}"
        for r in runs
        if "error" not in r and r["peak"]
    ]
    if results.get("note"):
        lines += ["", results["note"]]
    return "\n".join(lines) + "\n"


def starts_markdown(results):
    """Partitions of the pretrained embedding; clustering stages per start."""
    lines = [
        "# DEC's start: partitions of the pretrained embedding, clustering stages",
        "",
        f"- Machine: {machine_summary(results['machine'])}",
        f"- Command: `{results['command']}`",
        "- Rows marked oracle use the labels: diagnoses, not methods. The tol "
        "stop is the first refresh where fewer than tol of the labels changed.",
        "",
    ]
    rows = [
        [run["dataset"], run["seed"], name, f"{p['acc']:.3f}", f"{p['nmi']:.3f}"]
        + [_f(p.get("inertia"), 1)]
        for run in results["runs"]
        for name, p in run["partitions"].items()
    ]
    lines += table(["dataset", "seed", "partition", "ACC", "NMI", "inertia"], rows)
    rows = []
    for run in results["runs"]:
        for name, stage in run["stages"].items():
            stop = stage["tol_stop"] or {"step": "none", "acc": None}
            path = " ".join(f"{p['step']}:{p['acc']:.3f}" for p in stage["trajectory"])
            rows.append([run["dataset"], run["seed"], name, stop["step"]])
            rows[-1] += [_f(stop["acc"]), f"{stage['final']['acc']:.3f}"]
            rows[-1] += [f"{stage['final']['nmi']:.3f}", path]
    header = ["dataset", "seed", "start", "tol stop", "ACC there", "final ACC"]
    lines += ["", *table([*header, "final NMI", "step:ACC"], rows)]
    return "\n".join(lines) + "\n"


def structure_markdown(results):
    """Neighbourhood purity, and the partitions' scores, agreement with the
    peer and lost classes."""
    lines = [
        "# What the data's neighbourhoods allow",
        "",
        f"- Machine: {machine_summary(results['machine'])}",
        f"- Command: `{results['command']}`",
        "- Purity: the share of each row's 10 nearest neighbours with its class. "
        "ARI peer: agreement with UMAP + GMM's partition; errors shared: the "
        "share of the partition's misassigned rows the peer misassigns too; "
        "lost: classes with under half their rows in their matched cluster "
        "(the share there).",
        "",
    ]
    rows = [
        [run["dataset"], run["seed"]]
        + [f"{run['purity'][key]:.3f}" for key in ("input", "embedding")]
        for run in results["runs"]
    ]
    lines += table(["dataset", "seed", "purity, input", "purity, embedding"], rows)
    rows = []
    for run in results["runs"]:
        for name, p in run["partitions"].items():
            lost = ", ".join(f"{c} ({r:.2f})" for c, r in p["lost"].items())
            rows.append([run["dataset"], run["seed"], name])
            rows[-1] += [f"{p[key]:.3f}" for key in ("acc", "nmi")]
            rows[-1] += [_f(p.get("ari_peer")), _f(p.get("errors_shared"))]
            rows[-1] += [lost or "none"]
    header = ["dataset", "seed", "partition", "ACC", "NMI", "ARI peer"]
    lines += ["", *table([*header, "errors shared", "lost classes"], rows)]
    return "\n".join(lines) + "\n"


def _mean_std(values, digits=3):
    values = np.asarray(values, dtype=float)
    std = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{values.mean():.{digits}f} ± {std:.{digits}f}"


def time_to_quality_markdown(results):
    """Per data set and configuration: AE + k-means and DEC, mean ± std over
    seeds, and DEC's seconds against the first configuration's."""
    lines = [
        "# Time to a good clustering",
        "",
        f"- Machine: {machine_summary(results['machine'])}",
        *(f"- Command: `{command}`" for command in results["commands"]),
        f"- Configurations: {results['configs']}; overrides: {results['overrides']}",
        "- Mean ± std over seeds; seconds exclude the checkpoints' k-means; "
        "'time' is DEC's seconds over the first configuration's.",
        "",
    ]
    header = ["dataset", "config", "seeds", "epochs", "AE+KM ACC", "AE+KM s"]
    header += ["DEC ACC", "DEC NMI", "DEC ARI", "DEC s", "time"]
    rows = []
    for dataset in dict.fromkeys(r["dataset"] for r in results["runs"]):
        first = None
        for config in results["configs"]:
            runs = [
                r
                for r in results["runs"]
                if r["dataset"] == dataset and r["config"] == config
            ]
            if not runs:
                continue
            seconds = np.mean([r["dec"]["seconds"] for r in runs])
            first = seconds if first is None else first
            ae, dec = [r["ae_kmeans"] for r in runs], [r["dec"] for r in runs]
            row = [dataset, config, ",".join(str(r["seed"]) for r in runs)]
            row += [",".join(sorted({str(r["pretrain_epochs"]) for r in runs}))]
            row += [_mean_std([a["acc"] for a in ae])]
            row += [_mean_std([a["seconds"] for a in ae], 1)]
            row += [_mean_std([d[key] for d in dec]) for key in ("acc", "nmi", "ari")]
            row += [_mean_std([d["seconds"] for d in dec], 1), f"{seconds / first:.2f}"]
            rows.append(row)
    lines += table(header, rows)
    per_seed = [
        [r["dataset"], r["config"], r["seed"], f"{r['dec']['acc']:.3f}"]
        + [f"{r['dec']['nmi']:.3f}", f"{r['dec']['seconds']:.1f}", r["n_iter"]]
        for r in results["runs"]
    ]
    header = ["dataset", "config", "seed", "DEC ACC", "DEC NMI", "DEC s", "steps"]
    lines += ["", "Per seed:", "", *table(header, per_seed)]
    if results.get("note"):
        lines += ["", f"Note: {results['note']}"]
    return "\n".join(lines) + "\n"


def _pretrain_seconds(runs):
    seconds = [r["picks"]["estimator"].get("pretrain_seconds") for r in runs]
    seconds = [s for s in seconds if s is not None]
    return f"{np.mean(seconds):.0f}" if seconds else "n/a"


def _pretrain_seconds(runs):
    seconds = [r["picks"]["estimator"].get("pretrain_seconds") for r in runs]
    seconds = [s for s in seconds if s is not None]
    return f"{np.mean(seconds):.0f}" if seconds else "n/a"


def choosing_k_markdown(results):
    """Picks per data set and thread count (seeds in order), hits, and mean
    seconds; data sets in the order they first appear, fewer threads first."""
    runs = results["runs"]
    names = list(runs[0]["picks"]) if runs else []
    order = list(dict.fromkeys(run["dataset"] for run in runs))
    groups = {}
    for run in sorted(runs, key=lambda r: (order.index(r["dataset"]), r["threads"])):
        groups.setdefault((run["dataset"], run["threads"]), []).append(run)
    rows = []
    for (dataset, threads), group in groups.items():
        true_k = group[0]["true_k"]
        cells = [f"{dataset} ({true_k}), {threads} thread(s)"]
        for name in names:
            ks = [run["picks"][name]["k"] for run in group]
            hits = sum(k == true_k for k in ks)
            cells.append(f"{', '.join(map(str, ks))} ({hits}/{len(ks)})")
        rows.append(cells)
    seconds = ["mean seconds"]
    for name in names:
        seconds.append(f"{np.mean([r['picks'][name]['seconds'] for r in runs]):.1f}")
    rows.append(seconds)
    lines = [
        "# Choosing k in the shared pretrained embedding\n",
        *(f"    {command}" for command in results["commands"]),
        "",
        "k picked per seed (exact hits / seeds); candidates 2..20. "
        '`estimator`: what `DECClusterer(n_clusters="auto")` picked at its '
        "defaults; its seconds are those of the choice and the start "
        f"(pretraining took a mean of {_pretrain_seconds(runs)} s more). The "
        "other columns' seconds are the criterion's alone, on the same "
        "embedding.\n",
        *table(["data set (true k)", *names], rows),
    ]
    return "\n".join(lines) + "\n"


MARKDOWN = {
    "results": suite_markdown,
    "time_to_quality": time_to_quality_markdown,
    "speed": speed_markdown,
    "starts": starts_markdown,
    "structure": structure_markdown,
    "choosing_k": choosing_k_markdown,
    **{w: functools.partial(scale_markdown, w) for w in SCALE_COLUMNS},
}


def main(argv=None):
    """``python -m benchmarks table PATH...``: rewrite the markdown of results."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks table")
    parser.add_argument("paths", nargs="+", type=Path, help="JSON files or folders")
    for path in parser.parse_args(argv).paths:
        for file in sorted(path.rglob("*.json")) if path.is_dir() else [path]:
            if file.stem in MARKDOWN:
                out = file.with_suffix(".md")
                out.write_text(MARKDOWN[file.stem](json.loads(file.read_text())))
                print(f"wrote {out}")
    return 0

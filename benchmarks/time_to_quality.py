"""Time to a good clustering (issue 22): per data set, seed and pretraining
configuration, the quality of "autoencoder + k-means" at checkpoints during
pretraining (:class:`~benchmarks._callbacks.PretrainCheckpoints`, whose own
time is not counted) and of the finished DEC fit, against seconds. Writes
``time_to_quality.json``, its markdown and ``time_to_quality.png`` (ACC
against seconds, one line per configuration).
"""

import argparse
import json
import shlex
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from benchmarks._callbacks import PretrainCheckpoints, StartPartition
from benchmarks._common import (
    add_data_arguments,
    add_set_argument,
    check_data_arguments,
    check_overrides,
    comma_list,
    default_output,
    load_datasets,
    machine_info,
    scores,
)
from benchmarks._data import SUITE_DATASETS
from benchmarks.tables import time_to_quality_markdown, write_results
from skdec import DECClusterer

# Pretraining configurations: name -> DECClusterer parameters.
CONFIGS = {
    "default": {},
    # The defaults before issue 22 (DEC-keras' pretraining).
    "pretrain200": {"pretrain_epochs": 200, "pretrain_batch_size": 256},
}


def study(X, y, dataset, seed, config, overrides, every):
    """One fit: its checkpoints, its start (AE + k-means) and its result."""
    checkpoints = PretrainCheckpoints(X, y, every)
    start = StartPartition()
    params = {**overrides, **CONFIGS[config], "random_state": seed}
    estimator = DECClusterer(
        len(np.unique(y)), callbacks=[checkpoints, start], **params
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a ConvergenceWarning is no failure here
        begin = time.perf_counter()
        estimator.fit(X)
        seconds = time.perf_counter() - begin - checkpoints.spent
    epochs = sum(r["stage"].startswith("pretrain") for r in estimator.history_)
    ae_seconds = start.time - begin - checkpoints.spent
    return {
        "dataset": dataset,
        "config": config,
        "seed": seed,
        "pretrain_epochs": epochs,
        "checkpoints": checkpoints.points,
        "ae_kmeans": {**scores(y, start.labels), "seconds": ae_seconds},
        "dec": {**scores(y, estimator.labels_), "seconds": seconds},
        "n_iter": int(estimator.n_iter_),
    }


def plot(results, path):
    """ACC against seconds per data set: each configuration's checkpoints
    (mean over seeds), and its DEC result as a marker."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(dict.fromkeys(r["dataset"] for r in results["runs"]))
    fig, axes = plt.subplots(1, len(datasets), figsize=(5 * len(datasets), 3.8))
    for ax, dataset in zip(np.atleast_1d(axes), datasets, strict=True):
        for i, config in enumerate(results["configs"]):
            runs = [
                r
                for r in results["runs"]
                if r["dataset"] == dataset and r["config"] == config
            ]
            if not runs:
                continue
            n = min(len(r["checkpoints"]) for r in runs)
            seconds = np.mean(
                [[p["seconds"] for p in r["checkpoints"][:n]] for r in runs], 0
            )
            acc = np.mean([[p["acc"] for p in r["checkpoints"][:n]] for r in runs], 0)
            color = f"C{i}"
            ax.plot(seconds, acc, color=color, label=f"{config}: AE + k-means")
            dec = [(r["dec"]["seconds"], r["dec"]["acc"]) for r in runs]
            ax.plot(*np.mean(dec, 0), "*", color=color, ms=12, label=f"{config}: DEC")
        ax.set(title=dataset, xlabel="seconds (one thread)", ylabel="ACC")
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def combine(paths, output, argv):
    """One results file (table and plot) from the runs of several."""
    parts = [json.loads(Path(p).read_text()) for p in paths]
    results = {**parts[0], "configs": {}, "runs": []}
    results["commands"] = [c for part in parts for c in part["commands"]]
    results["commands"].append(
        "python -m benchmarks time_to_quality " + shlex.join(argv)
    )
    for part in parts:
        results["configs"].update(part["configs"])
        results["runs"] += part["runs"]
    output = output / "time_to_quality.json"
    write_results(output, results, time_to_quality_markdown)
    plot(results, output.with_suffix(".png"))
    return 0


def main(argv=None):
    argv = [] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="python -m benchmarks time_to_quality")
    text = "merge these results files (of runs on one machine) into --output"
    parser.add_argument("--combine", nargs="+", type=Path, metavar="JSON", help=text)
    add_data_arguments(parser, SUITE_DATASETS, ["digits", "fashion"])
    text = f"from {', '.join(CONFIGS)} (default: all)"
    parser.add_argument(
        "--configs", type=comma_list(CONFIGS), default=list(CONFIGS), help=text
    )
    parser.add_argument(
        "--every", type=int, default=5, help="epochs between checkpoints"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (default 1)"
    )
    add_set_argument(parser, help_extra="; of DECClusterer, for every configuration")
    args = parser.parse_args(argv)
    if args.combine:
        if args.output is None:
            parser.error("--combine needs --output.")
        return combine(args.combine, args.output, argv)
    overrides = dict(args.set)
    check_overrides(parser, lambda o: DECClusterer(**o), overrides)
    check_data_arguments(parser, args)
    if args.every < 1:
        parser.error("--every must be a positive integer.")
    torch.set_num_threads(args.threads)
    results = {
        "machine": machine_info(),
        "commands": ["python -m benchmarks time_to_quality " + shlex.join(argv)],
        "configs": {name: CONFIGS[name] for name in args.configs},
        "overrides": overrides,
        "every": args.every,
        "runs": [],
    }
    output = (
        args.output or default_output("time-to-quality-")
    ) / "time_to_quality.json"
    for name, (X, y) in load_datasets(args).items():
        for seed in args.seeds:
            for config in args.configs:
                run = study(X, y, name, seed, config, overrides, args.every)
                results["runs"].append(run)
                # Written after every fit, so an interrupted study keeps its runs.
                write_results(output, results, time_to_quality_markdown)
    plot(results, output.with_suffix(".png"))
    return 0

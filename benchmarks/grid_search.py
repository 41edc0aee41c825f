"""A search over k with and without ``memory``: its time and its scores.

``GridSearchCV(DECClusterer(random_state=0), {"n_clusters": K}, cv=3)`` on
digits (scaled to [0, 1]) at the defaults, once without ``memory`` and once with a fresh
folder, one torch thread. Writes ``grid_search.json``: both times, the
pretrainings each search ran (counted by a callback), and
whether the two ``cv_results_`` scores are identical.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import GridSearchCV

from benchmarks._common import comma_list, default_output, machine_info
from skdec import DECClusterer
from skdec.callbacks import Callback
from skdec.datasets import load_digits_scaled

SCORES = ("mean_test_score", "std_test_score", "rank_test_score")


class CountPretraining(Callback):
    """Counts the pretrainings run (a fit that loads one from memory runs none)."""

    ran = 0  # on the class: GridSearchCV's clones deep-copy the instance

    def on_stage_begin(self, estimator, stage, **state):
        if stage == "pretrain":
            type(self).ran += 1


def search(X, candidates, cv, memory):
    CountPretraining.ran = 0
    estimator = DECClusterer(
        random_state=0, memory=memory, callbacks=[CountPretraining()]
    )
    start = time.perf_counter()
    grid = GridSearchCV(estimator, {"n_clusters": candidates}, cv=cv).fit(X)
    seconds = time.perf_counter() - start
    scores = {name: np.asarray(grid.cv_results_[name]).tolist() for name in SCORES}
    for split in range(cv):
        name = f"split{split}_test_score"
        scores[name] = np.asarray(grid.cv_results_[name]).tolist()
    return {
        "seconds": seconds,
        "pretrainings": CountPretraining.ran,
        "best_params": grid.best_params_,
        "scores": scores,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks grid_search")
    parser.add_argument(
        "--candidates", type=comma_list(item=int), default="8,9,10,11,12"
    )
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--output", type=Path, default=default_output("grid_search"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    X, _ = load_digits_scaled()
    results = {"machine": machine_info(), "candidates": args.candidates, "cv": args.cv}
    with tempfile.TemporaryDirectory() as folder:
        results["memory"] = search(X, args.candidates, args.cv, folder)
    results["no_memory"] = search(X, args.candidates, args.cv, None)
    results["identical_scores"] = (
        results["memory"]["scores"] == results["no_memory"]["scores"]
    )
    results["ratio"] = results["memory"]["seconds"] / results["no_memory"]["seconds"]
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "grid_search.json").write_text(json.dumps(results, indent=2))
    print(json.dumps({k: v for k, v in results.items() if k != "machine"}, indent=1))
    return 0

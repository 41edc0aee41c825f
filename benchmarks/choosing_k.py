"""Choosing k (issue 25): every criterion in one shared space.

Per data set, seed and torch thread count, ``DECClusterer(n_clusters="auto",
max_iter=0, random_state=seed)`` records the k the estimator picks at its
defaults and the embedding it picked it in (the default pretraining's,
rescaled, as the start sees it; pretraining is cached in ``--cache``;
``--set`` passes other parameters). Every criterion of
:func:`skdec.select_n_clusters` named in ``--criteria`` (the three indices
and "density" by default) then picks a k in 2..20 on that embedding with
the estimator's restarts and vote, and Davies-Bouldin also without them
(``n_restarts=1``, the rule before issue 25). Three criteria the library
does not offer are measured beside them on the same embedding:

- ``louvain``: the number of Louvain communities (networkx, resolution 1) of
  the symmetric 15-nearest-neighbour graph, as DESC sets k;
- ``hdbscan``: the number of HDBSCAN clusters (``min_cluster_size`` 2% of
  the rows, ``min_samples=10``), noise left out;
- ``gap``: Tibshirani's gap statistic against 5 uniform references in the
  principal-axes box (the smallest k with gap(k) >= gap(k+1) - s(k+1)).

Writes ``choosing_k.json`` and its markdown. The labels only score.
"""

import argparse
import json
import shlex
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from benchmarks._callbacks import PretrainCache, StartPartition
from benchmarks._common import (
    add_set_argument,
    check_overrides,
    comma_list,
    default_output,
    machine_info,
)
from benchmarks._data import load_one
from benchmarks.tables import choosing_k_markdown, write_results
from skdec import DECClusterer
from skdec._select_k import (
    CRITERIA,
    N_RESTARTS,
    choose_n_clusters,
    density_clusters,
)
from skdec._starts import neighbour_graph
from skdec.datasets import make_nonlinear_blobs

CANDIDATES = list(range(2, 21))
DATASETS = ("synthetic-3", "synthetic-6", "synthetic-12", "digits")
DATASETS += ("wine", "breast_cancer", "fashion")
# The resampling criteria (stability, prediction strength,
# generalisability) cost 10 to 100 times more per restart.
FAST_CRITERIA = ("silhouette", "calinski_harabasz", "davies_bouldin", "density")
GRAPH_NEIGHBOURS = 15
GAP_REFERENCES = 5


def load(name, seed):
    """``(X, y)``: synthetic sets are drawn with the seed, others fixed."""
    if name.startswith("synthetic-"):
        n_clusters = int(name.split("-")[1])
        X, y = make_nonlinear_blobs(n_clusters=n_clusters, random_state=seed)
    else:
        X, y = load_one(name)
    return np.ascontiguousarray(X, dtype=np.float32), np.asarray(y)


def auto_fit(name, seed, threads, cache, overrides=None):
    """``(Z, y, chosen)``: the "auto" fit's embedding and what it chose
    (``k``, ``votes``, ``seconds`` of the choice and ``pretrain_seconds``).

    Pretraining is cached per data set, seed, thread count and parameters
    (:class:`~benchmarks._callbacks.PretrainCache`), so a rerun after a
    change to the choice refits in seconds and reports what the estimator
    picks now; ``pretrain_seconds`` are those measured when it was trained.
    """
    X, y = load(name, seed)
    start = StartPartition()
    pretrained = PretrainCache(cache, f"{name}_s{seed}_t{threads}")
    params = {"max_iter": 0, **(overrides or {}), "n_clusters": "auto"}
    dec = DECClusterer(**params, random_state=seed, callbacks=[pretrained, start])
    dec.fit(X)
    epochs = [r for r in dec.history_ if r["stage"].startswith("pretrain")]
    (init,) = [r for r in dec.history_ if r["stage"] == "init"]
    chosen = {
        "k": int(dec.n_clusters_),
        "votes": dec.n_clusters_votes_.tolist(),
        "seconds": init["seconds"],
        "pretrain_seconds": float(sum(r["seconds"] for r in epochs)),
    }
    return start.embedding, y, chosen


def _louvain(Z, seed):
    import networkx as nx

    graph = neighbour_graph(Z, GRAPH_NEIGHBOURS)
    communities = nx.community.louvain_communities(
        nx.from_scipy_sparse_array(graph), resolution=1.0, seed=seed
    )
    return len(communities)


def _hdbscan(Z, seed):
    # The count "density" uses, whatever the share of rows it covers.
    return density_clusters(Z)[0]


def _gap(Z, seed):
    from sklearn.cluster import KMeans

    from skdec._select_k import _uniform_reference

    rng = np.random.RandomState(seed)
    references = [_uniform_reference(Z, rng) for _ in range(GAP_REFERENCES)]

    def log_inertia(data, k):
        return np.log(KMeans(k, n_init=3, random_state=seed).fit(data).inertia_)

    gap, spread = {}, {}
    for k in [*CANDIDATES, CANDIDATES[-1] + 1]:
        reference = np.array([log_inertia(R, k) for R in references])
        gap[k] = reference.mean() - log_inertia(Z, k)
        spread[k] = reference.std() * np.sqrt(1 + 1 / GAP_REFERENCES)
    return next(
        (k for k in CANDIDATES if gap[k] >= gap[k + 1] - spread[k + 1]),
        CANDIDATES[-1],
    )


OTHERS = {"louvain": _louvain, "hdbscan": _hdbscan, "gap": _gap}


def study(Z, seed, criteria):
    """``{criterion: {"k", "votes", "seconds"}}`` on embedding ``Z``."""
    picks = {}
    runs = [(c, N_RESTARTS) for c in criteria] + [("davies_bouldin", 1)]
    for criterion, n_restarts in runs:
        started = time.perf_counter()
        choice = choose_n_clusters(
            Z,
            CANDIDATES,
            criterion=criterion,
            n_init=20,
            n_restarts=n_restarts,
            rng=np.random.RandomState(seed),
        )
        name = criterion if n_restarts > 1 else f"{criterion}_single"
        print(f"  {name}: {choice.n_clusters}", flush=True)
        picks[name] = {
            "k": choice.n_clusters,
            "votes": choice.votes.tolist(),
            "scores": choice.scores.tolist(),
            "seconds": time.perf_counter() - started,
        }
    for name, function in OTHERS.items():
        started = time.perf_counter()
        k = function(Z, seed)
        picks[name] = {"k": int(k), "seconds": time.perf_counter() - started}
    return picks


def main(argv=None):
    argv = [] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="python -m benchmarks choosing_k")
    parser.add_argument(
        "--datasets",
        type=lambda text: comma_list(DATASETS)(text) if text else [],
        default=list(DATASETS[:-1]),
        help="'' with --combine merges results only",
    )
    text = "results files whose runs this one's table adds to"
    parser.add_argument(
        "--combine", nargs="+", type=Path, default=[], metavar="JSON", help=text
    )
    parser.add_argument("--seeds", type=comma_list(item=int), default=[0, 1, 2])
    parser.add_argument(
        "--criteria",
        type=comma_list(CRITERIA),
        default=list(FAST_CRITERIA),
        help=f"of select_n_clusters (default: {', '.join(FAST_CRITERIA)})",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--cache", type=Path, default=Path("choosing-k-cache"))
    parser.add_argument("--output", type=Path, default=None)
    add_set_argument(parser, help_extra="; of the DECClusterer fits")
    args = parser.parse_args(argv)
    overrides = dict(args.set)
    check_overrides(parser, lambda o: DECClusterer(**o), overrides)
    torch.set_num_threads(args.threads)
    output = (args.output or default_output("choosing-k-")) / "choosing_k.json"
    results = {
        "machine": machine_info(),
        "commands": ["python -m benchmarks choosing_k " + shlex.join(argv)],
        "overrides": overrides,
        "runs": [],
    }
    # Runs with other thread counts or data sets add to the same table, in
    # the order of the files, this run's last.
    commands, runs = [], []
    for path in [output, *args.combine]:
        if path.is_file():
            previous = json.loads(path.read_text())
            commands += previous["commands"]
            runs += previous["runs"]
    results["commands"] = commands + results["commands"]
    results["runs"] = runs
    if not args.datasets:
        write_results(output, results, choosing_k_markdown)
    with threadpool_limits(args.threads), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for dataset in args.datasets:
            for seed in args.seeds:
                Z, y, chosen = auto_fit(
                    dataset, seed, args.threads, args.cache, overrides
                )
                print(f"{dataset}, seed {seed}, {args.threads} thread(s)", flush=True)
                results["runs"].append(
                    {
                        "dataset": dataset,
                        "seed": seed,
                        "threads": args.threads,
                        "true_k": int(len(np.unique(y))),
                        "picks": {
                            "estimator": chosen,
                            **study(Z, seed, args.criteria),
                        },
                    }
                )
                write_results(output, results, choosing_k_markdown)
    return 0

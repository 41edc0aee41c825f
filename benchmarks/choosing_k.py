"""Choosing k (issue 25): every criterion in one shared space.

Per data set, seed and torch thread count, the estimator's default
pretraining gives one embedding (``DECClusterer(n_clusters=2, max_iter=0,
random_state=seed)``, its rescaled embedding as the start sees it; cached in
``--cache``). Every criterion of :func:`skdec.select_n_clusters` then picks a
k in 2..20 with the estimator's restarts and vote (``--criteria``: the
three indices by default), and Davies-Bouldin also
without them (``n_restarts=1``, the rule before issue 25). Three criteria
the library does not offer are measured beside them on the same embedding:

- ``louvain``: the number of Louvain communities (networkx, resolution 1) of
  the symmetric 15-nearest-neighbour graph, as DESC sets k;
- ``hdbscan``: the number of HDBSCAN clusters (``min_cluster_size`` 2% of
  the rows, ``min_samples=10``), noise left out;
- ``gap``: Tibshirani's gap statistic against 5 uniform references in the
  principal-axes box (the smallest k with gap(k) >= gap(k+1) - s(k+1)).

Writes ``choosing_k.json`` and its markdown. The labels only score.
"""

import argparse
import shlex
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from benchmarks._common import comma_list, default_output, machine_info
from benchmarks._data import load_one
from benchmarks.tables import table, write_results
from skdec import DECClusterer
from skdec._select_k import CRITERIA, N_RESTARTS, choose_n_clusters
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


class _Embedding:
    """Callback keeping the start's (rescaled) embedding."""

    def on_record(self, estimator, record, embedding=None, **_):
        if record["stage"] == "init":
            self.Z = embedding


def embedding(name, seed, threads, cache):
    """``(Z, y, seconds)``: the default pretraining's embedding, cached."""
    path = Path(cache) / f"{name}_s{seed}_t{threads}.npz"
    if path.is_file():
        with np.load(path) as saved:
            return saved["Z"], saved["y"], float(saved["seconds"])
    X, y = load(name, seed)
    grab = _Embedding()
    started = time.perf_counter()
    DECClusterer(2, max_iter=0, random_state=seed, callbacks=[grab]).fit(X)
    seconds = time.perf_counter() - started
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, Z=grab.Z, y=y, seconds=seconds)
    return grab.Z, y, seconds


def _louvain(Z, seed):
    import networkx as nx
    from sklearn.neighbors import kneighbors_graph

    graph = kneighbors_graph(Z, GRAPH_NEIGHBOURS, include_self=False)
    graph = ((graph + graph.T) > 0).astype(float)
    communities = nx.community.louvain_communities(
        nx.from_scipy_sparse_array(graph), resolution=1.0, seed=seed
    )
    return len(communities)


def _hdbscan(Z, seed):
    from sklearn.cluster import HDBSCAN

    size = max(5, round(0.02 * len(Z)))
    labels = HDBSCAN(min_cluster_size=size, min_samples=10).fit(Z).labels_
    return len(set(labels.tolist()) - {-1})


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


def markdown(results):
    """Picks per data set (seeds in order), hits, and mean seconds."""
    runs = results["runs"]
    names = list(runs[0]["picks"]) if runs else []
    groups = {}
    for run in runs:
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
        "k picked per seed (exact hits / seeds); candidates 2..20.\n",
        *table(["data set (true k)", *names], rows),
    ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    argv = [] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="python -m benchmarks choosing_k")
    parser.add_argument(
        "--datasets", type=comma_list(DATASETS), default=list(DATASETS[:-1])
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
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    output = (args.output or default_output("choosing-k-")) / "choosing_k.json"
    results = {
        "machine": machine_info(),
        "commands": ["python -m benchmarks choosing_k " + shlex.join(argv)],
        "runs": [],
    }
    if output.is_file():
        # Runs with other thread counts or data sets add to the same table.
        import json

        previous = json.loads(output.read_text())
        results["commands"] = previous["commands"] + results["commands"]
        results["runs"] = previous["runs"]
    with threadpool_limits(args.threads), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for dataset in args.datasets:
            for seed in args.seeds:
                Z, y, seconds = embedding(dataset, seed, args.threads, args.cache)
                print(f"{dataset}, seed {seed}, {args.threads} thread(s)", flush=True)
                results["runs"].append(
                    {
                        "dataset": dataset,
                        "seed": seed,
                        "threads": args.threads,
                        "true_k": int(len(np.unique(y))),
                        "pretrain_seconds": seconds,
                        "picks": study(Z, seed, args.criteria),
                    }
                )
                write_results(output, results, markdown)
    return 0

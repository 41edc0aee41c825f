"""What the data's neighbourhoods allow (issue 23's measured limit).

Per data set and seed, one pretrained autoencoder (DEC's defaults, cached in
``--cache``; ``--set`` passes other parameters) and, with the true number of
clusters:

- the label purity of neighbourhoods: the share of each row's 10 nearest
  neighbours that have its class, in the input and in the embedding;
- partitions: DEC's k-means start; the spectral start's
  (``init="spectral"``'s graph and algorithm, its k-means seeded with the
  seed); spectral clustering of the neighbours the embedding and the input
  agree on (the 15 nearest of each, kept where both have the edge); and
  the peer, UMAP + Gaussian mixture of the input (with umap-learn);
- per partition: ACC, NMI, its agreement with the peer's partition (ARI),
  the share of its errors the peer makes too, and the classes it loses
  (under half of their rows in the cluster matched to them).

Writes ``structure.json`` and its markdown. The labels only score.
"""

import argparse
import functools
import importlib.util
import shlex
import warnings

import numpy as np
import torch
from sklearn.metrics import adjusted_rand_score
from sklearn.neighbors import NearestNeighbors

from benchmarks._callbacks import PretrainCache, StartPartition
from benchmarks._common import (
    add_cache_argument,
    add_data_arguments,
    add_set_argument,
    check_data_arguments,
    check_overrides,
    default_output,
    load_datasets,
    machine_info,
    scores,
)
from benchmarks.tables import structure_markdown, write_results
from skdec import DECClusterer
from skdec._starts import (
    SPECTRAL_NEIGHBOURS,
    neighbour_graph,
    spectral_partition,
)
from skdec.metrics import matched_labels

PURITY_NEIGHBOURS = 10
LOST_RECALL = 0.5  # a class is lost with under half its rows in its cluster
# Edges the input does not confirm keep this weight, so that the graph
# stays connected where the two disagree everywhere.
UNCONFIRMED_WEIGHT = 1e-3
_FIXED = ("max_iter", "init", "callbacks", "n_clusters")


def neighbour_purity(features, y, n_neighbors=PURITY_NEIGHBOURS):
    """Mean share of each row's ``n_neighbors`` nearest neighbours with its class."""
    search = NearestNeighbors(n_neighbors=n_neighbors + 1).fit(features)
    neighbours = search.kneighbors(features, return_distance=False)[:, 1:]
    return float(np.mean(y[neighbours] == y[:, None]))


def agreeing_graph(graph, X, n_neighbors=SPECTRAL_NEIGHBOURS):
    """The embedding's neighbour ``graph``, its edges weighted 1 where the
    input's ``n_neighbors`` graph has them too and ``UNCONFIRMED_WEIGHT``
    elsewhere."""
    confirmed = graph.multiply(neighbour_graph(X, n_neighbors))
    return (confirmed + UNCONFIRMED_WEIGHT * graph).tocsr()


def describe(y, labels, peer=None):
    """Scores of ``labels``, the classes they lose and their agreement with
    the ``peer`` partition."""
    matched = matched_labels(y, labels)
    classes = np.unique(y)
    recall = {c: float(np.mean(matched[y == c] == c)) for c in classes}
    result = {k: scores(y, labels)[k] for k in ("acc", "nmi", "ari")}
    result["lost"] = {str(c): r for c, r in recall.items() if r < LOST_RECALL}
    if peer is not None:
        result["ari_peer"] = float(adjusted_rand_score(peer, labels))
        wrong, peer_wrong = matched != y, matched_labels(y, peer) != y
        result["errors_shared"] = (
            float(np.mean(peer_wrong[wrong])) if wrong.any() else 0.0
        )
    return result


def study(X, y, dataset, seed, args, overrides, peer):
    """Purities and partitions of one data set and seed."""
    n_clusters = len(np.unique(y))
    start = StartPartition()
    cache = PretrainCache(args.cache, f"{dataset}_s{seed}_t{torch.get_num_threads()}")
    estimator = DECClusterer(n_clusters, **overrides, max_iter=0, random_state=seed)
    estimator.set_params(callbacks=[cache, start])
    estimator.fit(X)
    Z = start.embedding
    graph = neighbour_graph(Z, SPECTRAL_NEIGHBOURS)
    spectral = functools.partial(
        spectral_partition, n_clusters=n_clusters, n_init=estimator.n_init, seed=seed
    )
    partitions = {
        "kmeans": start.labels,
        "spectral": spectral(graph),
        "spectral_agreeing": spectral(agreeing_graph(graph, X)),
    }
    peer_labels = None
    if peer:
        from benchmarks._peers import UmapGmm

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # UMAP's notes on random_state
            peer_labels = UmapGmm(n_clusters, random_state=seed).fit_predict(X)
        partitions["umap_gmm"] = peer_labels
    return {
        "dataset": dataset,
        "seed": seed,
        "purity": {
            "input": neighbour_purity(X, y),
            "embedding": neighbour_purity(Z, y),
        },
        # The peer is not compared with itself.
        "partitions": {
            name: describe(y, labels, None if name == "umap_gmm" else peer_labels)
            for name, labels in partitions.items()
        },
    }


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks structure")
    choices = ("digits", "fashion", "wine", "breast_cancer", "synthetic")
    add_data_arguments(
        parser, choices, ["digits", "wine", "breast_cancer", "synthetic"]
    )
    add_cache_argument(parser, "structure")
    parser.add_argument("--no-peer", action="store_true", help="skip UMAP + GMM")
    add_set_argument(parser, help_extra="; of DECClusterer (not max_iter or init)")
    args = parser.parse_args(argv)
    overrides = dict(args.set)
    check_overrides(parser, lambda o: DECClusterer(**o), overrides, fixed=_FIXED)
    check_data_arguments(parser, args)
    peer = not args.no_peer and importlib.util.find_spec("umap") is not None
    results = {
        "machine": machine_info(),
        "command": "python -m benchmarks structure " + shlex.join(argv),
        "overrides": overrides,
        "peer": peer,
        "runs": [],
    }
    output = (args.output or default_output("structure-")) / "structure.json"
    for name, (X, y) in load_datasets(args).items():
        for seed in args.seeds:
            results["runs"].append(study(X, y, name, seed, args, overrides, peer))
    write_results(output, results, structure_markdown)
    return 0

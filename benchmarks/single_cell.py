"""DEC, k-means and Leiden (resolution 1, 15-neighbour graph of a 50-component PCA)
on ``make_single_cell_counts`` (8 types, seed 0) after ``preprocess_counts``."""

import argparse
import importlib.util
import itertools
import time
from pathlib import Path

from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.neighbors import kneighbors_graph

from benchmarks import _common as common
from benchmarks.tables import table, to_jsonable, write_results
from skdec import DECClusterer
from skdec.datasets import make_single_cell_counts, preprocess_counts


def leiden(X, seed, _):
    import igraph
    import leidenalg

    knn = kneighbors_graph(PCA(50, random_state=seed).fit_transform(X), 15)
    graph = igraph.Graph(len(X), list(zip(*knn.nonzero(), strict=True))).simplify()
    kind = leidenalg.RBConfigurationVertexPartition  # resolution 1 by default
    return leidenalg.find_partition(graph, kind, n_iterations=-1, seed=seed).membership


METHODS = {
    "dec": lambda X, s, o: DECClusterer(8, random_state=s, **o).fit(X).labels_,
    "kmeans": lambda X, s, _: KMeans(8, n_init=20, random_state=s).fit_predict(X),
    "leiden": leiden,
}
KEYS = ("n_cells", "method", "seed", "ari", "nmi", "n_clusters_found", "seconds")


def markdown(results):
    rows = [[r[k] for k in KEYS] for r in results["runs"]]
    rows = [[f"{v:.3f}" if isinstance(v, float) else v for v in row] for row in rows]
    text = f"# Single-cell-like counts\n\n{common.machine_summary(results['machine'])}"
    text += f"\n\n    {results['command']}\n\n--set: {results['overrides']}\n"
    return "\n".join([text, *table(KEYS, rows)]) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks single_cell")
    parser.add_argument("--cells", type=common.comma_list(item=int), default=[10000])
    parser.add_argument("--seeds", type=common.comma_list(item=int), default=[0])
    default = [*METHODS][: 2 + bool(importlib.util.find_spec("leidenalg"))]
    parser.add_argument("--methods", type=common.comma_list(METHODS), default=default)
    parser.add_argument("--output", type=Path, help="output folder")
    common.add_set_argument(parser, help_extra="; DEC's")
    args = parser.parse_args(argv)
    common.check_overrides(parser, lambda o: DECClusterer(**o), sets := dict(args.set))
    results = dict(machine=common.machine_info(), overrides=to_jsonable(sets), runs=[])
    results["command"] = "python -m benchmarks single_cell " + " ".join(argv or [])
    output = (args.output or common.default_output()) / "single_cell.json"
    for n_cells in args.cells:
        counts, types = make_single_cell_counts(n_cells, n_types=8, random_state=0)
        X = preprocess_counts(counts)
        for method, seed in itertools.product(args.methods, args.seeds):
            start = time.perf_counter()
            labels = METHODS[method](X, seed, sets)
            seconds = time.perf_counter() - start
            row = dict(n_cells=n_cells, method=method, seed=seed, seconds=seconds)
            results["runs"].append({**row, **common.scores(types, labels)})
            write_results(output, results, markdown)  # after every run

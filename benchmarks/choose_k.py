"""Which label-free criterion picks the true number of clusters?

Every criterion of :func:`skdec._select_k.select_n_clusters` (plus raw,
uncorrected stability) scores the candidates k = 2..20 on the embedding of a
pretrained autoencoder, as ``n_clusters="auto"`` does after pretraining:

- ``digits``: scikit-learn's digits (X / 16, k = 10);
- ``imbalanced``: digits subsampled with ``r_min=0.3`` (DEC's imbalance
  experiment);
- ``synthetic-3/6/12``: ``make_nonlinear_blobs(n_clusters=3/6/12)``;
- ``latent-3/6/12``: the same data sets' latent points themselves (5-D
  well-separated gaussian blobs), i.e. an embedding that separates the
  clusters perfectly: what every criterion should get right.

Every data set but the latent ones is embedded by ``DECClusterer``'s default
pretraining on that data set (one autoencoder per seed, rescaled embedding),
exactly what ``n_clusters="auto"`` scores. Embeddings are cached in
``--cache`` (a temporary folder by default), keyed by the data, the seed and
the estimator's parameters. Writes ``choose_k.json`` (every score) and
``choose_k.md`` (the tables of ``benchmarks/choosing_k.md``) to ``--output``.

Run ``python -m benchmarks.choose_k --help``.
"""

import argparse
import copy
import hashlib
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

if __package__ in (None, ""):  # run as ``python benchmarks/choose_k.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.metrics import adjusted_rand_score, davies_bouldin_score  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.utils import check_random_state  # noqa: E402

from skdec import DECClusterer, _select_k  # noqa: E402
from skdec._dec import _embed_and_assign  # noqa: E402
from skdec._silhouette import capped_silhouette  # noqa: E402
from skdec.datasets import (  # noqa: E402
    load_digits_scaled,
    load_fashion_mnist,
    make_nonlinear_blobs,
    subsample_imbalanced,
)

CANDIDATES = range(2, 21)
DATASETS = (
    "digits",
    "imbalanced",
    "synthetic-3",
    "synthetic-6",
    "synthetic-12",
    "latent-3",
    "latent-6",
    "latent-12",
)
# The criteria of select_n_clusters, plus "stability_raw": the uncorrected
# half of "stability" (largest split-half ARI), to measure the correction.
VARIANTS = (
    "silhouette",
    "calinski_harabasz",
    "davies_bouldin",
    "stability",
    "stability_raw",
    "prediction_strength",
    "generalisability",
)


# ---------------------------------------------------------------------------
# Embeddings


def _pretrained_embedding(X, seed, cache):
    """The embedding ``n_clusters="auto"`` would score: ``DECClusterer``'s
    default pretraining (and embedding rescaling) on ``X``, cached by a hash of
    ``X``, the seed and the estimator's parameters."""
    estimator = DECClusterer(n_clusters=2, max_iter=0, random_state=seed)
    params = json.dumps(estimator.get_params(), sort_keys=True, default=str)
    digest = hashlib.sha256(X.tobytes() + params.encode()).hexdigest()[:16]
    path = cache / f"embedding_{seed}_{digest}.npy"
    if path.is_file():
        return np.load(path)
    Z = estimator.fit(X).transform(X)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, Z)
    tmp.replace(path)
    return Z


def embedding(dataset, seed, *, cache):
    """``(Z, y)``: the embedding of ``dataset`` for ``seed`` and its labels."""
    if dataset.startswith("latent-"):
        k = int(dataset.split("-")[1])
        _, y, Z = make_nonlinear_blobs(
            n_clusters=k, random_state=seed, return_latent=True
        )
        return Z, y
    if dataset.startswith("synthetic-"):
        k = int(dataset.split("-")[1])
        X, y = make_nonlinear_blobs(n_clusters=k, random_state=seed)
    else:
        X, y = load_digits_scaled()
        if dataset == "imbalanced":
            X, y = subsample_imbalanced(X, y, r_min=0.3, random_state=seed)
    return _pretrained_embedding(np.ascontiguousarray(X), seed, cache), y


# ---------------------------------------------------------------------------
# Scoring


def score_all(Z, y, seed):
    """Every variant's scores and pick, as ``select_n_clusters`` computes them.

    The k-means fits are shared; each criterion then continues from the same
    random state, so each entry equals ``select_n_clusters(Z, CANDIDATES,
    criterion=..., random_state=seed)``.
    """
    rng = check_random_state(seed)
    start = time.perf_counter()
    fits = _select_k._fit_candidates(Z, CANDIDATES, n_init=20, rng=rng)
    true_k = len(np.unique(y))
    results = {
        "true_k": true_k,
        "kmeans_seconds": time.perf_counter() - start,
        # How well k-means with the true k recovers the classes on Z: the
        # ceiling of every criterion here, since all of them score k-means.
        "kmeans_ari_at_true_k": adjusted_rand_score(y, fits[true_k].labels_),
    }
    for name in VARIANTS:
        start = time.perf_counter()
        if name == "stability_raw":
            observed, baseline = _select_k._stability_parts(Z, fits, copy.deepcopy(rng))
            results["stability_reference"] = baseline
            scores, rule = observed, _select_k._largest
        else:
            score_fn, rule = _select_k._CRITERIA[name]
            scores = score_fn(Z, fits, copy.deepcopy(rng), 20)
        results[name] = {
            "scores": scores,
            "k": rule(scores),
            "seconds": time.perf_counter() - start,
        }
    return results


# ---------------------------------------------------------------------------
# Report


def _table(runs, seeds):
    header = ["data set (true k)", "k-means ARI at true k", *VARIANTS]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    totals = dict.fromkeys(VARIANTS, 0)
    for dataset, by_seed in runs.items():
        true_k = by_seed[seeds[0]]["true_k"]
        ari = np.mean([by_seed[s]["kmeans_ari_at_true_k"] for s in seeds])
        cells = [f"{dataset} ({true_k})", f"{ari:.2f}"]
        for name in VARIANTS:
            picks = [by_seed[s][name]["k"] for s in seeds]
            hits = sum(k == true_k for k in picks)
            totals[name] += hits
            cells.append(f"{', '.join(map(str, picks))} ({hits}/{len(seeds)})")
        lines.append("| " + " | ".join(cells) + " |")
    n_runs = len(runs) * len(seeds)
    cells = ["**hit rate**", ""] + [f"**{totals[n]}/{n_runs}**" for n in VARIANTS]
    lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


GROUPS = {
    "digits, imbalanced": ("digits", "imbalanced"),
    "synthetic-3/6/12": ("synthetic-3", "synthetic-6", "synthetic-12"),
    "latent-3/6/12": ("latent-3", "latent-6", "latent-12"),
}


def _summary_table(runs):
    """Exact hits, picks within 1 of the true k and mean error, per group."""
    groups = {**GROUPS, "all": tuple(runs)}
    lines = ["| criterion | " + " | ".join(groups) + " |"]
    lines.append("|---|" + "---|" * len(groups))
    for name in VARIANTS:
        cells = []
        for datasets in groups.values():
            errors = [
                abs(result[name]["k"] - result["true_k"])
                for dataset in datasets
                if dataset in runs
                for result in runs[dataset].values()
            ]
            if not errors:
                cells.append("")
                continue
            errors = np.array(errors)
            cells.append(
                f"{(errors == 0).sum()} / {(errors <= 1).sum()} of {errors.size}, "
                f"{errors.mean():.1f}"
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _score_table(runs, seed, names):
    lines = []
    for dataset, by_seed in runs.items():
        result = by_seed[seed]
        lines += [
            f"\n{dataset} (true k = {result['true_k']}), seed {seed}:\n",
            "| criterion | " + " | ".join(str(k) for k in CANDIDATES) + " |",
            "|---|" + "---|" * len(CANDIDATES),
        ]
        for name in names:
            scores = result[name]["scores"]
            values = " | ".join(f"{scores[k]:.3g}" for k in CANDIDATES)
            lines.append(f"| {name} | {values} |")
        reference = result["stability_reference"]
        values = " | ".join(f"{reference[k]:.3g}" for k in CANDIDATES)
        lines.append(f"| stability of the uniform reference | {values} |")
    return "\n".join(lines)


def _seconds_table(runs):
    lines = ["| data set | k-means fits | " + " | ".join(VARIANTS) + " |"]
    lines.append("|---|---|" + "---|" * len(VARIANTS))
    for dataset, by_seed in runs.items():
        results = list(by_seed.values())
        cells = [f"{np.mean([r['kmeans_seconds'] for r in results]):.1f}"]
        cells += [
            f"{np.mean([r[n]['seconds'] for r in results]):.1f}" for n in VARIANTS
        ]
        lines.append(f"| {dataset} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report(runs, seeds):
    return "\n\n".join(
        [
            "## Picked k per seed (hits of the true k)",
            _table(runs, seeds),
            "## Exact / within 1 of the true k, mean absolute error",
            _summary_table(runs),
            "## Seconds per criterion (mean over seeds, on top of the k-means fits)",
            _seconds_table(runs),
            "## Scores per candidate",
            _score_table(runs, seeds[0], VARIANTS),
        ]
    )


# ---------------------------------------------------------------------------
# Search modes of n_clusters="auto", and GridSearchCV (--search, --grid)

SEARCH_DATASETS = (
    "synthetic-3",
    "synthetic-4",
    "synthetic-6",
    "synthetic-12",
    "digits",
    "fashion",
)
# Parameters that do not change pretraining: fits differing only in these
# share one cached autoencoder.
_SEARCH_ONLY = (
    "n_clusters",
    "n_clusters_range",
    "n_clusters_search",
    "n_clusters_criterion",
    "max_iter",
    "tol",
    "update_interval",
    "n_init",
    "verbose",
)


def _data(dataset, seed):
    if dataset.startswith("synthetic-"):
        k = int(dataset.split("-")[1])
        X, y = make_nonlinear_blobs(n_clusters=k, random_state=seed)
    elif dataset == "fashion":
        X, y = load_fashion_mnist(subset="test")
    else:
        X, y = load_digits_scaled()
    return np.ascontiguousarray(X, dtype=np.float32), np.asarray(y)


class _BenchDEC(DECClusterer):
    """``DECClusterer`` that caches its pretrained autoencoder, and records the
    ARI of every clustering stage it runs (every candidate of the
    "clustering" search) against ``_bench_y``.

    The cache holds the weights, the pretraining history (with its measured
    seconds) and the state of the training generator after pretraining, so a
    fit from the cache is the same computation as a fit without it.
    """

    _bench_cache = None
    _bench_y = None

    def _pretrain(self, autoencoder, X, setup):
        import torch

        params = {k: v for k, v in self.get_params().items() if k not in _SEARCH_ONLY}
        key = json.dumps(params, sort_keys=True, default=str).encode()
        digest = hashlib.sha256(self._bench_data_key + key).hexdigest()[:16]
        path = Path(self._bench_cache) / f"pretrained_{digest}.pt"
        if path.is_file():
            saved = torch.load(path, weights_only=False)
            autoencoder.load_state_dict(saved["state"])
            setup.generator.set_state(saved["generator"])
            self._bench_cached = True
            return saved["history"]
        history = super()._pretrain(autoencoder, X, setup)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        saved = {
            "state": autoencoder.state_dict(),
            "generator": setup.generator.get_state(),
            "history": history,
        }
        torch.save(saved, tmp)
        tmp.replace(path)
        self._bench_cached = False
        return history

    def _initial_embedding(self, *args, **kwargs):
        self._bench_embedding = super()._initial_embedding(*args, **kwargs)
        return self._bench_embedding

    def _cluster(self, autoencoder, centers, X, setup, **kwargs):
        start = time.perf_counter()
        module, n_iter, history = super()._cluster(
            autoencoder, centers, X, setup, **kwargs
        )
        seconds = time.perf_counter() - start
        if self._bench_y is not None:
            z, log_q = _embed_and_assign(module, X, setup.device)
            labels = log_q.argmax(axis=1)
            ari = adjusted_rand_score(self._bench_y, labels)
            # Other label-free scores of the same clustering, for comparison
            # with the silhouette after DEC that the search uses.
            several = 2 <= np.unique(labels).size < len(labels)
            self._bench_stages.append(
                {
                    "k": len(centers),
                    "ari": ari,
                    "n_iter": n_iter,
                    "seconds": seconds,
                    "davies_bouldin_after": (
                        davies_bouldin_score(z, labels) if several else np.nan
                    ),
                    "silhouette_pretrained": capped_silhouette(
                        self._bench_embedding, labels
                    ),
                }
            )
            print(
                f"    k={len(centers)} ari={ari:.3f} n_iter={n_iter} {seconds:.1f}s",
                flush=True,
            )
        return module, n_iter, history


def search_run(dataset, seed, mode, *, cache, params=None):
    """One ``DECClusterer(n_clusters="auto", n_clusters_search=mode)`` fit at
    the defaults (``params`` overrides them): its pick, scores and seconds."""
    X, y = _data(dataset, seed)
    est = _BenchDEC(
        n_clusters="auto", n_clusters_search=mode, random_state=seed, **(params or {})
    )
    est._bench_cache, est._bench_y, est._bench_stages = cache, y, []
    # The cache key: the data as given (fit may hold it as a tensor or as
    # a batched reader), plus the parameters that change pretraining.
    est._bench_data_key = X.tobytes()
    start = time.perf_counter()
    est.fit(X)
    seconds = time.perf_counter() - start
    pretrain = sum(
        r["seconds"] for r in est.history_ if r["stage"].startswith("pretrain")
    )
    if est._bench_cached:  # the pretraining was read back: add its cost
        seconds += pretrain
    stages = {s["k"]: s for s in est._bench_stages}
    true_k = len(np.unique(y))
    return {
        "true_k": true_k,
        "k": int(est.n_clusters_),
        "candidates": est.n_clusters_candidates_.tolist(),
        "scores": est.n_clusters_scores_.tolist(),
        # ARI of each clustering stage run (every candidate in "clustering"
        # mode, the chosen one in "kmeans" mode) against the classes.
        "ari": {int(k): s["ari"] for k, s in stages.items()},
        "stage_seconds": {int(k): s["seconds"] for k, s in stages.items()},
        "davies_bouldin_after": {
            int(k): s["davies_bouldin_after"] for k, s in stages.items()
        },
        "silhouette_pretrained": {
            int(k): s["silhouette_pretrained"] for k, s in stages.items()
        },
        "ari_chosen": adjusted_rand_score(y, est.labels_),
        "seconds": seconds,
        "pretrain_seconds": pretrain,
    }


GRID_PARAMS = dict(hidden_dims=(256, 64), pretrain_optimizer="adam")


def grid_run(dataset, seed, candidates, *, cv, params=None):
    """``GridSearchCV`` with default scoring (``score``: the silhouette) over
    ``n_clusters``."""
    X, y = _data(dataset, seed)
    est = DECClusterer(random_state=seed, **{**GRID_PARAMS, **(params or {})})
    search = GridSearchCV(est, {"n_clusters": list(candidates)}, cv=cv)
    start = time.perf_counter()
    search.fit(X)
    seconds = time.perf_counter() - start
    scores = search.cv_results_["mean_test_score"]
    return {
        "true_k": len(np.unique(y)),
        "k": int(search.best_params_["n_clusters"]),
        "candidates": list(candidates),
        "scores": [float(s) for s in scores],
        "ari_chosen": adjusted_rand_score(y, search.best_estimator_.predict(X)),
        "seconds": seconds,
    }


def _search_tables(runs):
    lines = [
        "| data set (true k) | way | seed | picked k | ARI of the fit | seconds |",
        "|---|---|---|---|---|---|",
    ]
    for key, r in runs.items():
        dataset, way, seed = key.split("|")
        lines.append(
            f"| {dataset} ({r['true_k']}) | {way} | {seed} | {r['k']} | "
            f"{r['ari_chosen']:.2f} | {r['seconds']:.0f} |"
        )
    for key, r in runs.items():
        lines += [
            f"\n{key.replace('|', ', ')} (true k = {r['true_k']}):\n",
            "| | " + " | ".join(str(k) for k in r["candidates"]) + " |",
            "|---|" + "---|" * len(r["candidates"]),
            "| score | " + " | ".join(f"{s:.3g}" for s in r["scores"]) + " |",
        ]
        if len(r.get("ari", {})) > 1:
            ari = r["ari"]
            cells = [
                f"{ari[str(k)]:.2f}" if str(k) in ari else "" for k in r["candidates"]
            ]
            lines.append("| ARI | " + " | ".join(cells) + " |")
        for name in ("silhouette_pretrained", "davies_bouldin_after"):
            if len(r.get(name, {})) > 1:
                values = r[name]
                cells = [
                    f"{values[str(k)]:.3g}" if str(k) in values else ""
                    for k in r["candidates"]
                ]
                lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _save_search(runs, output):
    output.mkdir(parents=True, exist_ok=True)
    (output / "search.json").write_text(json.dumps(runs, indent=1))
    (output / "search.md").write_text(_search_tables(runs) + "\n")


def search_main(args):
    path = args.output / "search.json"
    runs = json.loads(path.read_text()) if path.is_file() else {}
    for seed in args.seeds:
        for dataset in args.datasets:
            for way in args.ways:
                key = f"{dataset}|{way}|{seed}"
                if key in runs:
                    continue
                print(f"{key} ...", flush=True)
                if way.startswith("grid"):
                    result = grid_run(dataset, seed, range(2, 11), cv=args.cv)
                else:
                    result = search_run(dataset, seed, way, cache=args.cache)
                runs[key] = result
                # JSON keys: ints become strings; keep them so on reload.
                runs = json.loads(json.dumps(runs))
                _save_search(runs, args.output)
                print(
                    f"{key}: k={result['k']} (true {result['true_k']}) "
                    f"{result['seconds']:.0f}s",
                    flush=True,
                )
    return 0


# ---------------------------------------------------------------------------
# Command line


def _parse(argv):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.choose_k", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "skdec-choose-k",
        help="folder of cached embeddings",
    )
    parser.add_argument(
        "--output", type=Path, default=Path("benchmarks/results/choose-k")
    )
    parser.add_argument(
        "--search",
        default=None,
        help="comma-separated ways of choosing k to compare on whole fits "
        "instead of the criteria: clustering, kmeans (n_clusters='auto' at the "
        "defaults) and grid (GridSearchCV, default scoring, n_clusters 2..10, "
        f"{GRID_PARAMS}); data sets from {SEARCH_DATASETS}",
    )
    parser.add_argument("--cv", type=int, default=2, help="folds of --search grid")
    args = parser.parse_args(argv)
    args.datasets = args.datasets.split(",")
    if args.search is not None:
        args.ways = args.search.split(",")
        args.seeds = [int(s) for s in args.seeds.split(",")]
        unknown = set(args.datasets) - set(SEARCH_DATASETS)
        if unknown:
            parser.error(f"unknown data sets {sorted(unknown)} for --search")
        return args
    unknown = set(args.datasets) - set(DATASETS)
    if unknown:
        parser.error(f"unknown data sets {sorted(unknown)}; choose from {DATASETS}")
    args.seeds = [int(s) for s in args.seeds.split(",")]
    return args


def main(argv=None):
    args = _parse(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    if args.search is not None:
        return search_main(args)
    runs = {}
    for dataset in args.datasets:
        runs[dataset] = {}
        for seed in args.seeds:
            Z, y = embedding(dataset, seed, cache=args.cache)
            result = score_all(Z, y, seed)
            true_k = result["true_k"]
            runs[dataset][seed] = result
            picks = {name: result[name]["k"] for name in VARIANTS}
            print(f"{dataset} seed {seed} (true k {true_k}): {picks}", flush=True)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "choose_k.json").write_text(json.dumps(runs, indent=1))
    (args.output / "choose_k.md").write_text(report(runs, args.seeds) + "\n")
    print(report(runs, args.seeds))
    return 0


if __name__ == "__main__":
    sys.exit(main())

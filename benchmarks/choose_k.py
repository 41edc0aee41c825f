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
from sklearn.metrics import adjusted_rand_score  # noqa: E402
from sklearn.utils import check_random_state  # noqa: E402

from skdec import DECClusterer, _select_k  # noqa: E402
from skdec.datasets import (  # noqa: E402
    load_digits_scaled,
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
    args = parser.parse_args(argv)
    args.datasets = args.datasets.split(",")
    unknown = set(args.datasets) - set(DATASETS)
    if unknown:
        parser.error(f"unknown data sets {sorted(unknown)}; choose from {DATASETS}")
    args.seeds = [int(s) for s in args.seeds.split(",")]
    return args


def main(argv=None):
    args = _parse(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
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

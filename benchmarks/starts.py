"""How the clustering stage's start limits DEC: partitions, stages, restarts.

DEC's clustering stage sharpens the partition it starts from: the encoder
and the centroids move towards the Voronoi cells of the start, and what it
gains on top of "autoencoder + k-means" stays small. So the start bounds the
result, and the k-means optimum on the pretrained embedding is not
necessarily the partition nearest the classes: a partition with a higher
k-means objective can match the classes better. This script measures that,
per data set and seed, on one pretrained autoencoder
(``DECClusterer(n_classes, max_iter=0)``, cached, see ``--cache``):

1. Partitions of the embedding Z: ACC, NMI and k-means inertia of DEC's
   k-means start (AE+KM), of the k-means optimum (20 restarts), of Lloyd's
   algorithm started from the class means, of the nearest class mean, of
   N2D's UMAP + Gaussian mixture and of the Voronoi cells of that mixture's
   clusters' means in Z.
2. Clustering stages from several starts, each on a copy of the pretrained
   autoencoder (the loop of :func:`skdec._train.train_clustering`, run for
   ``--steps`` steps whatever the stopping rule says): ACC and NMI every 10
   target refreshes, and where DEC's stopping rule (``tol``) would have
   stopped. "manifold_target" is what ``DECClusterer(init="manifold")`` does:
   the mixture's posterior is the target of the first 10 refresh intervals.
3. Whether the start can be chosen without labels: ``--restarts`` single
   k-means restarts, and the Spearman correlation of their ACC with minus
   their inertia and with the entropy of their cluster sizes.

The rows marked "oracle" (Lloyd from the class means, the nearest class mean
and the stage started from the former) use the labels: they are diagnoses of
what the embedding holds, never a clustering method. Everything else is
label-free; the labels only score it.

The stages run on the CPU (a model fitted on a GPU is moved there), with the
estimator's ``update_interval``, ``batch_size``, ``learning_rate``, ``tol``
and ``alpha`` (DEC's defaults unless ``--set`` changes them) and a
``torch.Generator`` seeded with the seed for the mini-batches.

Run ``python -m benchmarks starts --help``, e.g.::

    OMP_NUM_THREADS=1 python -m benchmarks starts --datasets digits --seeds 0,1
"""

import argparse
import copy
import hashlib
import importlib.util
import json
import shlex
import sys
import time
import warnings
from pathlib import Path

if __package__ in (None, ""):  # run as ``python benchmarks/starts.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.mixture import GaussianMixture  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from benchmarks._machine import machine_info, machine_summary  # noqa: E402
from benchmarks._options import (  # noqa: E402
    RESULTS_DIR,
    add_set_argument,
    check_fashion_path,
    check_overrides,
    comma_list,
    default_output,
)
from benchmarks._report import to_jsonable, write_json  # noqa: E402
from skdec import DECClusterer  # noqa: E402
from skdec._dec import START_TARGET_REFRESHES  # noqa: E402
from skdec._nn import DECModule, kl_divergence  # noqa: E402
from skdec._train import (  # noqa: E402
    _endless_minibatches,
    make_optimizer,
    refresh_target,
)
from skdec.datasets import (  # noqa: E402
    _FASHION_MNIST_DIR,
)
from skdec.metrics import cluster_accuracy, normalized_mutual_info_score  # noqa: E402

DEFAULT_CACHE = RESULTS_DIR / "tmp-starts-cache"  # tmp* folders are git-ignored
# Trajectory points: every this many target refreshes, and the last step.
RECORD_EVERY_REFRESHES = 10
# k-means restart r is seeded RESTART_SEED + r.
RESTART_SEED = 1000
# "Most balanced of the lowest-inertia restarts": how many of those.
N_LOWEST_INERTIA = 20
# Set by the benchmark, never by --set.
_FIXED = {
    "max_iter": "the benchmark fits with max_iter=0 and runs the stages itself",
    "init": "the starts are chosen with --starts",
}

# ---------------------------------------------------------------------------
# Data sets: name -> loader(args) -> (X, y)


def _digits(args):
    from skdec.datasets import load_digits_scaled

    return load_digits_scaled()


def _fashion(args):
    from skdec.datasets import load_fashion_mnist

    X, y = load_fashion_mnist(args.fashion, subset="test")
    return X.reshape(len(X), -1).astype(np.float32, copy=False), y


DATASETS = {"digits": _digits, "fashion": _fashion}

# ---------------------------------------------------------------------------
# Partitions and starts: id -> (name in the tables, uses the labels)

PARTITIONS = {
    "ae_kmeans": ("AE+KM (DEC's k-means start)", False),
    "kmeans_optimum": ("k-means optimum (n_init=20)", False),
    "lloyd_from_class_means": ("Lloyd from the class means", True),
    "nearest_class_mean": ("nearest class mean", True),
    "umap_gmm": ("UMAP + Gaussian mixture", False),
    "mixture_means_voronoi": ("Voronoi of the mixture's means", False),
}
STARTS = {
    "kmeans": ("k-means (DEC's start)", False),
    "lloyd_from_class_means": ("Lloyd from the class means", True),
    "manifold": ("mixture's means, DEC's target", False),
    "manifold_target": ("mixture's means, its posterior first", False),
}
MANIFOLD = {"umap_gmm", "mixture_means_voronoi", "manifold", "manifold_target"}
_UMAP_MISSING = "umap is not installed (pip install umap-learn)"


def _scores(y, labels):
    return {
        "acc": cluster_accuracy(y, labels),
        "nmi": float(normalized_mutual_info_score(y, labels)),
    }


def _inertia(Z, labels):
    """k-means objective of a partition: squared distances to its clusters' means."""
    Z = np.asarray(Z, dtype=np.float64)
    return float(
        sum(
            ((Z[labels == j] - Z[labels == j].mean(axis=0)) ** 2).sum()
            for j in np.unique(labels)
        )
    )


def _nearest(Z, centers):
    """Index of each row's nearest centre (squared Euclidean distance)."""
    return ((Z[:, None] - centers[None]) ** 2).sum(axis=-1).argmin(axis=1)


def _cluster_means(Z, labels, n_clusters):
    """Means of the clusters in ``Z``; the overall mean for an empty one."""
    fallback = Z.mean(axis=0)
    return np.stack(
        [
            Z[labels == j].mean(axis=0) if (labels == j).any() else fallback
            for j in range(n_clusters)
        ]
    ).astype(np.float32)


def _manifold(Z, n_clusters, seed):
    """N2D's partition: UMAP of ``Z``, then a Gaussian mixture there.

    The same as ``skdec._dec._manifold_start``; returns ``(labels,
    posterior, means)``, the means being the clusters' means in ``Z``.
    """
    from umap import UMAP

    with warnings.catch_warnings():
        # "n_jobs value 1 overridden to 1 by setting random_state".
        warnings.filterwarnings("ignore", message="n_jobs", category=UserWarning)
        reduced = UMAP(
            n_components=n_clusters, n_neighbors=20, min_dist=0.0, random_state=seed
        ).fit_transform(Z)
    mixture = GaussianMixture(n_clusters, covariance_type="full", random_state=seed)
    mixture.fit(reduced)
    labels, posterior = mixture.predict(reduced), mixture.predict_proba(reduced)
    return labels, posterior.astype(np.float32), _cluster_means(Z, labels, n_clusters)


def _partitions(Z, y, estimator, seed, manifold):
    """ACC, NMI and inertia of every partition of ``Z``; their starts' centroids.

    Returns ``(partitions, centers)``; ``centers`` maps a start of
    :data:`STARTS` to its centroids (and, for "manifold_target", the
    mixture's posterior).
    """
    classes = np.unique(y)
    n_clusters = len(classes)
    labels = {"ae_kmeans": np.asarray(estimator.labels_)}
    optimum = KMeans(n_clusters, n_init=20, random_state=seed).fit(Z)
    labels["kmeans_optimum"] = optimum.labels_
    class_means = np.stack([Z[y == c].mean(axis=0) for c in classes])
    lloyd = KMeans(n_clusters, init=class_means, n_init=1).fit(Z)
    labels["lloyd_from_class_means"] = lloyd.labels_
    labels["nearest_class_mean"] = _nearest(Z, class_means)
    centers = {
        "kmeans": (estimator.cluster_centers_, None),
        "lloyd_from_class_means": (lloyd.cluster_centers_.astype(np.float32), None),
    }
    extra = {}
    if manifold is not None:
        start = time.perf_counter()
        mixture_labels, posterior, means = manifold(Z, n_clusters, seed)
        extra["umap_gmm"] = {"seconds": time.perf_counter() - start}
        labels["umap_gmm"] = mixture_labels
        labels["mixture_means_voronoi"] = _nearest(Z, means)
        extra["mixture_means_voronoi"] = {
            "agrees_with_mixture": float(
                np.mean(labels["mixture_means_voronoi"] == mixture_labels)
            )
        }
        centers["manifold"] = (means, None)
        centers["manifold_target"] = (means, posterior)
    partitions = {
        key: {
            "name": PARTITIONS[key][0],
            "oracle": PARTITIONS[key][1],
            **_scores(y, part),
            "inertia": _inertia(Z, part),
            **extra.get(key, {}),
        }
        for key, part in labels.items()
    }
    return partitions, centers


# ---------------------------------------------------------------------------
# Clustering stage


def _point(step, y, labels, changed):
    return {"step": step, **_scores(y, labels), "changed": changed}


def clustering_stage(
    autoencoder,
    centers,
    X,
    y,
    *,
    steps,
    seed,
    alpha,
    update_interval,
    batch_size,
    learning_rate,
    tol,
    start_target=None,
    start_steps=0,
    desc="stage",
):
    """DEC's clustering stage on a copy of ``autoencoder``, for ``steps`` steps.

    The loop of :func:`skdec._train.train_clustering` on the CPU (SGD with
    momentum 0.9 over the encoder and the centroids, the target refreshed
    every ``update_interval`` steps, mini-batches from a generator seeded
    with ``seed``; ``start_target`` is the target of the first
    ``start_steps`` steps), except that it never stops early. It records
    the labels' ACC, NMI and the fraction of them that changed since the
    previous refresh at every :data:`RECORD_EVERY_REFRESHES`-th refresh and
    at the last step, and the first refresh where fewer than ``tol``
    changed, outside the start target's steps: where DEC would have stopped.

    Returns
    -------
    stage : dict
        ``trajectory`` (list of ``{step, acc, nmi, changed}``), ``tol_stop``
        (such a point, or None if DEC would not have stopped), ``start`` and
        ``final`` (the first and last points) and ``seconds``.
    """
    start = time.perf_counter()
    device = torch.device("cpu")
    X = torch.tensor(np.asarray(X, dtype=np.float32))
    # A copy: DECModule wraps a float32 array without copying it, and training
    # would move the caller's centroids (another stage may start from them).
    centers = np.array(centers, dtype=np.float32)
    module = DECModule(copy.deepcopy(autoencoder).to(device), centers, alpha)
    if start_target is not None:
        start_target = torch.as_tensor(start_target)
    parameters = [*module.autoencoder.encoder_layers.parameters(), module.centroids]
    optimizer = make_optimizer("sgd", parameters, learning_rate)
    generator = torch.Generator().manual_seed(seed)
    batches = _endless_minibatches(len(X), batch_size, generator, device)
    trajectory, tol_stop, previous = [], None, None
    record_every = RECORD_EVERY_REFRESHES * update_interval
    bar = tqdm(total=steps, desc=desc, leave=False, dynamic_ncols=True)
    for step in range(steps + 1):
        if step % update_interval == 0:
            holding = start_target is not None and step < start_steps
            p, labels, _, _ = refresh_target(
                module, X, device=device, target=start_target if holding else None
            )
            labels = labels.numpy()
            changed = None if previous is None else float(np.mean(labels != previous))
            stoppable = changed is not None and not holding
            if tol_stop is None and stoppable and changed < tol:
                tol_stop = _point(step, y, labels, changed)
            previous = labels
            if step % record_every == 0 or step == steps:
                trajectory.append(_point(step, y, labels, changed))
                bar.set_postfix(acc=f"{trajectory[-1]['acc']:.3f}")
        if step == steps:
            break
        idx, _ = next(batches)
        _, log_q = module(X[idx])
        loss = kl_divergence(p[idx], log_q)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        bar.update()
    bar.close()
    return {
        "trajectory": trajectory,
        "tol_stop": tol_stop,
        "start": trajectory[0],
        "final": trajectory[-1],
        "seconds": time.perf_counter() - start,
    }


# ---------------------------------------------------------------------------
# Label-free choice of the start


def _spearman(a, b):
    """Spearman's rank correlation; None when undefined (constant input)."""
    if len(a) < 2:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConstantInputWarning
        rho = float(spearmanr(a, b)[0])
    return rho if np.isfinite(rho) else None


def restarts(Z, y, n_restarts):
    """Single k-means restarts on ``Z``: does a label-free score pick a good one?

    Restart ``r`` is ``KMeans(n_init=1, random_state=RESTART_SEED + r)``.
    Returns every restart's inertia (k-means' own), cluster-size entropy and
    ACC, the Spearman correlations of ACC with minus the inertia and with the
    entropy, and the ACC of the restart each rule would pick.
    """
    n_clusters = len(np.unique(y))
    rows = []
    for r in tqdm(range(n_restarts), desc="k-means restarts", leave=False):
        kmeans = KMeans(n_clusters, n_init=1, random_state=RESTART_SEED + r).fit(Z)
        sizes = np.bincount(kmeans.labels_, minlength=n_clusters) / len(Z)
        rows.append(
            {
                "seed": RESTART_SEED + r,
                "inertia": float(kmeans.inertia_),
                "size_entropy": float(-(sizes * np.log(sizes + 1e-12)).sum()),
                "acc": cluster_accuracy(y, kmeans.labels_),
            }
        )
    if not rows:
        return None
    inertia, entropy, acc = (
        np.array([row[key] for row in rows])
        for key in ("inertia", "size_entropy", "acc")
    )
    lowest = np.argsort(inertia)[:N_LOWEST_INERTIA]
    return {
        "n_restarts": n_restarts,
        "spearman_acc_neg_inertia": _spearman(acc, -inertia),
        "spearman_acc_size_entropy": _spearman(acc, entropy),
        "acc_min": float(acc.min()),
        "acc_max": float(acc.max()),
        "acc_mean": float(acc.mean()),
        "acc_of_min_inertia": float(acc[inertia.argmin()]),
        "acc_of_max_entropy": float(acc[entropy.argmax()]),
        "n_lowest_inertia": len(lowest),
        "acc_of_most_balanced_lowest_inertia": float(
            acc[lowest[entropy[lowest].argmax()]]
        ),
        "runs": rows,
    }


# ---------------------------------------------------------------------------
# The pretrained model, cached


def _estimator(n_clusters, seed, overrides):
    return DECClusterer(n_clusters, random_state=seed, **{**overrides, "max_iter": 0})


def cache_name(dataset, seed, overrides):
    """``{dataset}-seed{seed}.skdec``, with a hash of the overrides if any."""
    if not overrides:
        return f"{dataset}-seed{seed}.skdec"
    text = json.dumps(to_jsonable(overrides), sort_keys=True)
    digest = hashlib.sha1(text.encode()).hexdigest()[:10]
    return f"{dataset}-seed{seed}-set-{digest}.skdec"


def pretrained(X, n_clusters, dataset, seed, overrides, cache):
    """``DECClusterer(n_clusters, max_iter=0)`` fitted on ``X``, or its cached copy.

    A cached file is used when its parameters are the ones asked for; it
    does not record the code that trained it, so empty the cache after
    changing skdec's training. ``cache`` None fits without caching.
    Returns ``(estimator, info)``.
    """
    start = time.perf_counter()
    estimator = _estimator(n_clusters, seed, overrides)
    path = None if cache is None else Path(cache) / cache_name(dataset, seed, overrides)
    if path is not None and path.exists():
        cached = DECClusterer.load(path)
        wanted = to_jsonable(estimator.get_params())
        if to_jsonable(cached.get_params()) == wanted:
            info = {"cache_file": str(path), "loaded": True}
            return cached, {**info, "seconds": time.perf_counter() - start}
        tqdm.write(f"{path} holds a model with other parameters: refitting it.")
    estimator.fit(X)
    estimator.module_.cpu()  # the stages run on the CPU
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        estimator.save(path)
    info = {"cache_file": None if path is None else str(path), "loaded": False}
    return estimator, {**info, "seconds": time.perf_counter() - start}


# ---------------------------------------------------------------------------
# One data set and seed


def study(X, y, dataset, seed, args, overrides, manifold):
    """Partitions, stages and restarts of one data set and seed (a result dict)."""
    n_clusters = len(np.unique(y))
    estimator, model = pretrained(X, n_clusters, dataset, seed, overrides, args.cache)
    Z = estimator.transform(X)
    partitions, centers = _partitions(Z, y, estimator, seed, manifold)
    stages = {}
    for start in args.starts:
        if start not in centers:  # a manifold start without umap
            continue
        start_centers, start_target = centers[start]
        stages[start] = {
            "name": STARTS[start][0],
            "oracle": STARTS[start][1],
            **clustering_stage(
                estimator.module_.autoencoder,
                start_centers,
                X,
                y,
                steps=args.steps,
                seed=seed,
                alpha=estimator.alpha,
                update_interval=estimator.update_interval,
                batch_size=estimator.batch_size,
                learning_rate=estimator.learning_rate,
                tol=estimator.tol,
                start_target=start_target,
                start_steps=START_TARGET_REFRESHES * estimator.update_interval,
                desc=f"{dataset} seed {seed} {start}",
            ),
        }
    return {
        "dataset": dataset,
        "seed": seed,
        "model": model,
        "partitions": partitions,
        "stages": stages,
        "restarts": restarts(Z, y, args.restarts),
    }


# ---------------------------------------------------------------------------
# Report


def _f(value, digits=3):
    return "n/a" if value is None else f"{value:.{digits}f}"


def _trajectory_cell(trajectory):
    return " ".join(f"{point['step']}:{point['acc']:.3f}" for point in trajectory)


def markdown(results):
    """The results as a markdown document: partitions, stages, restarts."""
    lines = [
        "# DEC's start: partitions, clustering stages, restarts",
        "",
        f"- Machine: {machine_summary(results['machine'])}",
        f"- Command: `{results['command']}`",
        f"- Overrides (--set): {results['overrides'] or 'none'}",
        f"- Stages: {results['steps']} steps each, on a copy of the pretrained "
        "autoencoder; ACC every "
        f"{RECORD_EVERY_REFRESHES} target refreshes; the tol stop is the first "
        "refresh where fewer than tol of the labels changed (where DEC stops).",
    ]
    for what, reason in results["skipped"].items():
        lines.append(f"- {what} skipped: {reason}")
    lines += [
        "",
        "Rows marked oracle use the labels: diagnoses, not methods.",
        "",
        "## Partitions of the pretrained embedding",
        "",
        "| dataset | seed | partition | ACC | NMI | inertia |",
        "|---|---|---|---|---|---|",
    ]
    for run in results["runs"]:
        for part in run["partitions"].values():
            oracle = " (oracle)" if part["oracle"] else ""
            lines.append(
                f"| {run['dataset']} | {run['seed']} | {part['name']}{oracle} | "
                f"{part['acc']:.3f} | {part['nmi']:.3f} | {part['inertia']:.1f} |"
            )
    lines += [
        "",
        "## Clustering stages",
        "",
        "ACC at every recorded step as `step:ACC`.",
        "",
        "| dataset | seed | start | start ACC | tol stop: step | ACC | NMI "
        "| final ACC | final NMI | trajectory |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in results["runs"]:
        for stage in run["stages"].values():
            oracle = " (oracle)" if stage["oracle"] else ""
            stop = stage["tol_stop"] or {"step": "none", "acc": None, "nmi": None}
            trajectory = _trajectory_cell(stage["trajectory"])
            lines.append(
                f"| {run['dataset']} | {run['seed']} | {stage['name']}{oracle} | "
                f"{stage['start']['acc']:.3f} | {stop['step']} | {_f(stop['acc'])} "
                f"| {_f(stop['nmi'])} | {stage['final']['acc']:.3f} | "
                f"{stage['final']['nmi']:.3f} | {trajectory} |"
            )
    lines += [
        "",
        "## Choosing the start without labels: single k-means restarts",
        "",
        "Spearman correlation of the restarts' ACC with minus their inertia and "
        "with the entropy of their cluster sizes; ACC of the restart with the "
        "lowest inertia, of the most balanced one, and of the most balanced of "
        f"the {N_LOWEST_INERTIA} (or all, if fewer) with the lowest inertia.",
        "",
        "| dataset | seed | restarts | ρ(ACC, −inertia) | ρ(ACC, entropy) "
        "| ACC min–max (mean) | min inertia | most balanced | balanced of lowest |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in results["runs"]:
        r = run["restarts"]
        if r is None:
            continue
        lines.append(
            f"| {run['dataset']} | {run['seed']} | {r['n_restarts']} | "
            f"{_f(r['spearman_acc_neg_inertia'], 2)} | "
            f"{_f(r['spearman_acc_size_entropy'], 2)} | {r['acc_min']:.3f}–"
            f"{r['acc_max']:.3f} ({r['acc_mean']:.3f}) | {r['acc_of_min_inertia']:.3f} "
            f"| {r['acc_of_max_entropy']:.3f} | "
            f"{r['acc_of_most_balanced_lowest_inertia']:.3f} |"
        )
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# Command line


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks starts",
        description="How DEC's start limits it: partitions of the pretrained "
        "embedding, clustering stages from several starts, and whether "
        "k-means restarts can be told apart without labels.",
    )
    parser.add_argument(
        "--datasets",
        type=comma_list(DATASETS),
        default=list(DATASETS),
        help="comma-separated, from digits (scikit-learn's, scaled) and fashion "
        "(the Fashion-MNIST test set); default: both",
    )
    parser.add_argument(
        "--seeds",
        type=comma_list(item=int),
        default=[0],
        help="comma-separated random_state values (default: 0)",
    )
    parser.add_argument(
        "--starts",
        type=comma_list(STARTS),
        default=list(STARTS),
        help=f"clustering stages to run, from {', '.join(STARTS)} (default: all; "
        "the manifold ones need umap-learn)",
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=3000,
        help="steps of every clustering stage (default: 3000)",
    )
    parser.add_argument(
        "--restarts",
        type=int,
        default=100,
        help="single k-means restarts for the label-free choice (default: 100; "
        "0 skips them)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=DEFAULT_CACHE,
        help="folder of the pretrained models, {dataset}-seed{seed}[-set-HASH]"
        ".skdec; a file there with the same parameters is loaded instead of "
        "refitting (default: benchmarks/results/tmp-starts-cache; empty it after "
        "changing skdec's training code)",
    )
    parser.add_argument(
        "--no-cache",
        dest="cache",
        action="store_const",
        const=None,
        help="always fit, and save nothing",
    )
    parser.add_argument(
        "--fashion",
        metavar="PATH",
        help="local Fashion-MNIST: the folder of its IDX files or an .npz "
        f"(default: {_FASHION_MNIST_DIR}); never downloaded",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="output folder (default: benchmarks/results/starts-<date-time>)",
    )
    add_set_argument(
        parser, help_extra="; of the pretrained DECClusterer (not max_iter or init)"
    )
    return parser


def _check_arguments(parser, args, overrides):
    for key, reason in _FIXED.items():
        if key in overrides:
            parser.error(f"--set {key}: {reason}.")
    check_overrides(parser, "--set", lambda o: _estimator(2, 0, o), overrides)
    if args.steps < 1:
        parser.error("--steps must be a positive integer.")
    if args.restarts < 0:
        parser.error("--restarts must be 0 or more.")
    check_fashion_path(parser, args)


def main(argv=None):
    """Run the study; write results.json and results.md; return 0.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments; ``sys.argv[1:]`` when None.

    Returns
    -------
    status : int
        Exit status.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _parser()
    args = parser.parse_args(argv)
    overrides = dict(args.set)
    _check_arguments(parser, args, overrides)
    output = args.output or default_output("starts-")
    output.mkdir(parents=True, exist_ok=True)

    skipped = {}
    manifold = _manifold
    if importlib.util.find_spec("umap") is None:
        manifold = None
        for what in sorted(MANIFOLD & {*PARTITIONS, *args.starts}):
            skipped[what] = _UMAP_MISSING
            tqdm.write(f"Skipping {what}: {_UMAP_MISSING}.")
    results = {
        "machine": machine_info(),
        "command": "python -m benchmarks starts " + shlex.join(argv),
        "datasets": {},
        "seeds": args.seeds,
        "starts": args.starts,
        "steps": args.steps,
        "n_restarts": args.restarts,
        "overrides": overrides,
        "cache": None if args.cache is None else str(args.cache),
        "skipped": skipped,
        "complete": False,
        "runs": [],
    }
    tasks = [(name, seed) for name in args.datasets for seed in args.seeds]
    bar = tqdm(tasks, desc="starts", unit="run", dynamic_ncols=True)
    data = {}
    for name, seed in bar:
        bar.set_description(f"{name} seed={seed}")
        if name not in data:
            data[name] = DATASETS[name](args)
            X, y = data[name]
            results["datasets"][name] = {
                "n_samples": X.shape[0],
                "n_features": X.shape[1],
                "n_clusters": len(np.unique(y)),
            }
        X, y = data[name]
        results["runs"].append(study(X, y, name, seed, args, overrides, manifold))
        write_json(output / "results.json", results)  # survives a crash

    results["complete"] = True
    write_json(output / "results.json", results)
    report = markdown(results)
    (output / "results.md").write_text(report)
    print(report)
    print(f"Wrote results.json and results.md to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

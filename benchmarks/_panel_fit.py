"""One fit of the panel, in a process of its own: ``python _panel_fit.py TASK``.

Run by path, not as a module, so that a baseline's fit imports skdec from the
folder ``TASK["skdec_path"]`` (a git worktree of another commit) put first
on ``sys.path``; the panel's own methods import skdec and ``benchmarks`` from
this checkout. It fits, then writes the labels (``.npy``) and a JSON record
(seconds, stage seconds, peak memory, warnings, the parameters given) beside
``TASK``; the panel scores them. It imports nothing from ``benchmarks`` for a
baseline, so that any commit's skdec can be measured.
"""

import importlib.util
import json
import sys
import time
import warnings
from pathlib import Path


def _status_mb(field):
    """A field of /proc/self/status in MB (Linux); None elsewhere. ``VmHWM``
    is this process's peak: ``ru_maxrss`` would not do, as Linux keeps it
    across ``exec``, so it holds the parent's peak too."""
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    line = next((x for x in text.splitlines() if x.startswith(field + ":")), None)
    return None if line is None else int(line.split()[1]) / 1024


def _dec_params(params):
    """``params`` of ``DECClusterer`` in the names of the skdec imported.

    A baseline's commit may predate the built-in networks as module classes:
    its ``DECClusterer`` takes ``hidden_dims`` and ``latent_dim`` and quietly
    keeps ``module__hidden_dims`` for a user's module, so such a name is
    renamed where the bare name is a parameter of that ``DECClusterer``.
    """
    from skdec import DECClusterer

    names = DECClusterer().get_params(deep=False)
    if "hidden_dims" not in names:  # the module__ names
        return dict(params)
    renamed = {}
    for key, value in params.items():
        bare = key.removeprefix("module__")
        renamed[bare if bare in names else key] = value
    return renamed


def _estimator(task):
    """The unfitted estimator of ``task["method"]`` and the parameters it was
    given beyond ``n_clusters`` and the seed, in its own names."""
    method, k, seed = task["method"], task["n_clusters"], task["seed"]
    params = task["params"]
    if method == "kmeans":
        from sklearn.cluster import KMeans

        return KMeans(k, n_init=20, random_state=seed), {"n_init": 20}
    if method in ("umap_gmm", "leiden"):
        from benchmarks._peers import Leiden, UmapGmm

        peer = {"umap_gmm": UmapGmm, "leiden": Leiden}[method]
        return peer(k, random_state=seed, **params), params
    if method == "iic":
        from skdec import IICClusterer

        return IICClusterer(k, random_state=seed, **params), params
    from skdec import DECClusterer  # dec, dec_paper, baseline

    params = _dec_params(params)
    return DECClusterer(k, random_state=seed, **params), params


def _load(path):
    import numpy as np
    import scipy.sparse as sp

    if Path(path).with_suffix(".sparse").exists():
        return sp.load_npz(path)
    with np.load(path) as data:
        return data["X"]


def _pretraining(estimator):
    """Epochs pretraining ran and how many of its stages ended on a plateau
    of the loss (None for methods without a history)."""
    history = getattr(estimator, "history_", None)
    if history is None:
        return None, None
    records = [r for r in history if r["stage"].startswith("pretrain")]
    return len(records), sum(bool(r.get("plateau")) for r in records)


def main(task_path):
    task = json.loads(Path(task_path).read_text())
    root = task.get("skdec_path") or task["repo"]
    sys.path.insert(0, root)

    import numpy as np
    import torch

    torch.set_num_threads(1)
    X = _load(task["data"])
    estimator, params = _estimator(task)
    # One-time costs (lazy imports, kernels) outside the timing: a tiny fit.
    if task["method"] not in ("kmeans", "umap_gmm", "leiden"):
        tiny = np.random.default_rng(0).random((64, 4), dtype=np.float32)
        from skdec import DECClusterer

        network = _dec_params({"module__hidden_dims": (4,), "module__latent_dim": 2})
        warm = DECClusterer(2, pretrain_epochs=1, max_iter=2, n_init=1, **network)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warm.fit(tiny)
    before = _status_mb("VmRSS")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        estimator.fit(X)
        seconds = time.perf_counter() - start
    peak = _status_mb("VmHWM")
    stages = {}
    for record in getattr(estimator, "history_", []):
        stage = "pretraining" if record["stage"].startswith("pretrain") else None
        stage = stage or record["stage"]
        stages[stage] = stages.get(stage, 0.0) + record.get("seconds", 0.0)
    epochs, plateau_stops = _pretraining(estimator)
    out = Path(task_path).with_suffix("")
    np.save(f"{out}-labels.npy", np.asarray(estimator.labels_))
    result = {
        "seconds": seconds,
        "stage_seconds": stages or None,
        "rss_before_fit_mb": before,
        "peak_rss_mb": peak,
        "pretrain_epochs": epochs,
        "plateau_stops": plateau_stops,
        "skdec": importlib.util.find_spec("skdec").origin,  # which checkout
        "params": params,
        "warnings": sorted({f"{w.category.__name__}: {w.message}" for w in caught}),
    }
    Path(f"{out}-result.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])

"""One fit of the panel, in a process of its own: ``python _panel_fit.py TASK``.

Run by path, not as a module, so that a baseline's fit imports skdec from the
folder ``TASK["skdec_path"]`` (a git worktree of another commit) put first
on ``sys.path``; the panel's own methods import skdec and ``benchmarks`` from
this checkout. It fits, then writes the labels (``.npy``) and a JSON record
(seconds, stage seconds, peak memory, warnings, resolved parameters) beside
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


def _estimator(task):
    """The unfitted estimator of ``task["method"]``, given its parameters."""
    method, k, seed = task["method"], task["n_clusters"], task["seed"]
    params = task["params"]
    if method == "kmeans":
        from sklearn.cluster import KMeans

        return KMeans(k, n_init=20, random_state=seed)
    if method in ("umap_gmm", "leiden"):
        from benchmarks._peers import Leiden, UmapGmm

        return {"umap_gmm": UmapGmm, "leiden": Leiden}[method](
            k, random_state=seed, **params
        )
    if method == "iic":
        from skdec import IICClusterer

        return IICClusterer(k, random_state=seed, **params)
    from skdec import DECClusterer  # dec, dec_paper, baseline

    return DECClusterer(k, random_state=seed, **params)


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
    estimator = _estimator(task)
    # One-time costs (lazy imports, kernels) outside the timing: a tiny fit.
    if task["method"] not in ("kmeans", "umap_gmm", "leiden"):
        tiny = np.random.default_rng(0).random((64, 4), dtype=np.float32)
        from skdec import DECClusterer

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            DECClusterer(
                2, hidden_dims=(4,), latent_dim=2, pretrain_epochs=1
            ).set_params(max_iter=2, n_init=1).fit(tiny)
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
        "warnings": sorted({f"{w.category.__name__}: {w.message}" for w in caught}),
    }
    Path(f"{out}-result.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])

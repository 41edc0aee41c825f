"""Callbacks the benchmarks pass to skdec's estimators (``callbacks=[...]``):
keep a reference to the one you pass and read it after ``fit`` of that same
estimator (``clone`` would copy it)."""

import hashlib
import json
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.metrics import pairwise_distances_argmin

from benchmarks._common import scores
from benchmarks.tables import to_jsonable
from skdec._batching import map_batches_numpy

# Parameters that do not change pretraining: fits differing only in these
# share one cached autoencoder.
CLUSTERING_ONLY = {
    *("callbacks", "init", "max_iter", "n_clusters", "n_clusters_criterion"),
    *("n_clusters_range", "n_clusters_search", "n_init", "tol", "update_interval"),
    "verbose",
}


class PretrainCache:
    """Skip pretraining when a fit with the same ``key`` (the data set and seed)
    and pretraining parameters saved its weights, generator state and records
    (so the fit computes what it would have, with the measured seconds); the
    code that trained them is not recorded: empty the folder after changing
    skdec's training."""

    def __init__(self, folder, key):
        self.folder, self.key = Path(folder), key
        self.loaded = None

    def path(self, estimator):
        """The cache file of ``estimator``'s pretraining, without suffix."""
        params = estimator.get_params(deep=False)
        params = {k: v for k, v in params.items() if k not in CLUSTERING_ONLY}
        text = json.dumps(to_jsonable(params), sort_keys=True)
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        return self.folder / f"{self.key}-{digest}"

    def on_stage_begin(self, estimator, stage, *, module, generator, history, **_):
        if stage != "pretrain":
            return None
        path = self.path(estimator)
        self.loaded = path.with_suffix(".npz").is_file()
        if not self.loaded:
            return None
        with np.load(path.with_suffix(".npz")) as saved:
            module.load_state_dict({k: torch.from_numpy(saved[k]) for k in saved})
        generator.set_state(torch.from_numpy(np.load(path.with_suffix(".gen.npy"))))
        history.extend(json.loads(path.with_suffix(".json").read_text()))
        return True

    def on_stage_end(self, estimator, stage, *, module, generator, history, **_):
        if stage != "pretrain" or self.loaded:
            return
        path = self.path(estimator)
        path.parent.mkdir(parents=True, exist_ok=True)
        weights = {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}
        records = [r for r in history if r["stage"].startswith("pretrain")]
        # The weights last: their presence marks a complete entry.
        np.save(path.with_suffix(".gen.npy"), generator.get_state().numpy())
        path.with_suffix(".json").write_text(json.dumps(to_jsonable(records)))
        np.savez(path.with_suffix(".tmp.npz"), **weights)
        path.with_suffix(".tmp.npz").replace(path.with_suffix(".npz"))


class StartPartition:
    """The start of the clustering stage (``labels``: every row at its nearest
    centroid, ``embedding``, ``centers``, ``posterior``, and ``time``, the
    ``perf_counter()`` it was known at). With ``init="kmeans"`` that is what
    ``DECClusterer(max_iter=0)`` returns (DEC's soft assignment peaks at the
    nearest centroid), so one dec fit also gives "autoencoder + k-means"."""

    labels = None

    def on_record(self, estimator, record, **state):
        if record["stage"] == "init" and "embedding" in state:
            self.embedding, self.centers = state["embedding"], state["centers"]
            self.posterior = state.get("posterior")
            self.labels = pairwise_distances_argmin(self.embedding, self.centers)
            self.time = time.perf_counter()


class Refreshes:
    """``points``: ``(iteration, labels, changed)`` at every refresh of the
    clustering stage, ``changed`` the fraction of labels changed since the
    previous refresh (None at the first)."""

    def __init__(self):
        self.points = []

    def on_record(self, estimator, record, **state):
        if record["stage"] == "clustering":
            labels, changed = state["labels"], None
            if self.points:
                changed = float(np.mean(labels != self.points[-1][1]))
            self.points.append((record["iteration"], labels, changed))


class PretrainCheckpoints:
    """Every ``every`` pretraining epochs, k-means (``n_init`` restarts, seeded)
    on the embedding of all of ``X``, scored against ``y``: ``points`` holds
    ``{"epoch", "seconds", "acc", "nmi", "ari"}``, ``seconds`` the fit's time
    so far without the checkpoints', which ``spent`` sums. The rows are
    encoded as the fit sees them (rescaled when their entries are tiny)."""

    def __init__(self, X, y, every, *, n_init=10):
        self.X, self.y, self.every, self.n_init = X, y, every, n_init
        self.points, self.spent, self.begin = [], 0.0, None

    def on_fit_begin(self, estimator, X, *, input_scale, **state):
        self.scale = input_scale
        self.begin = time.perf_counter()

    def on_record(self, estimator, record, module=None, **state):
        if not record["stage"].startswith("pretrain") or module is None:
            return
        if (record["epoch"] + 1) % self.every:
            return
        start = time.perf_counter()
        device = next(module.parameters()).device
        with torch.no_grad():
            Z = map_batches_numpy(
                lambda x: module.encode(x * self.scale),
                self.X,
                device=device,
                out_dim=estimator.latent_dim,
            )
        labels = KMeans(len(set(self.y)), n_init=self.n_init, random_state=0)
        labels = labels.fit_predict(Z)
        seconds = start - self.begin - self.spent
        self.points.append({"epoch": record["epoch"] + 1, "seconds": seconds})
        self.points[-1].update(scores(self.y, labels))
        self.spent += time.perf_counter() - start

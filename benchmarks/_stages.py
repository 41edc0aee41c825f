"""Where a fit spends its time, read from the estimator's ``history_``.

Every record of ``history_`` holds the wall-clock ``seconds`` of its epoch,
k-means start or refresh interval, so the stages are sums over records; no
estimator internals are patched.
"""

import functools
import warnings

import numpy as np
import torch

from skdec import DECClusterer

# Stage of a history record -> the stage it is reported under.
_REPORTED_STAGE = {
    "init": "kmeans",
    "clustering": "clustering",
    "overcluster": "training",
    "main": "training",
    "head_selection": "head_selection",
}
STAGES = ("pretraining", "kmeans", "clustering")


def synchronize():
    """Wait for queued CUDA kernels, so time is charged where the work was asked."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def stage_seconds(estimator):
    """Seconds per stage of a fitted estimator, from its ``history_``.

    DEC and IDEC report "pretraining", "kmeans" (the start of the clustering
    stage, or the choice of ``n_clusters``) and "clustering"; IIC "training"
    and "head_selection". Only stages that ran appear; an estimator without
    ``history_`` (k-means) gives an empty dict. What a fit does besides
    (validation, copying the data, the final labels) is the difference
    between its total time and the sum of the stages.
    """
    seconds = {}
    for record in getattr(estimator, "history_", []):
        stage = record["stage"]
        stage = "pretraining" if stage.startswith("pretrain") else stage
        stage = _REPORTED_STAGE.get(stage, stage)
        seconds[stage] = seconds.get(stage, 0.0) + record["seconds"]
    return seconds


@functools.cache
def warm_up(device="auto"):
    """Fit a tiny DECClusterer on ``device`` once per process, outside any timing.

    The first fit in a process pays one-time costs (torch's lazy imports and
    kernel loading, thread pools, a CUDA context) that can exceed a small fit
    itself. The device is the one the timed fits use, so no CUDA context is
    created (and counted in memory) for CPU runs.
    """
    X = np.random.default_rng(0).random((64, 4), dtype=np.float32)
    tiny = DECClusterer(
        2,
        hidden_dims=(4,),
        latent_dim=2,
        pretrain_epochs=1,
        max_iter=2,
        n_init=1,
        device=device,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tiny.fit(X)

"""Where a DECClusterer fit spends its time: pretraining, k-means, clustering.

The estimator exposes no timings, so the stage functions that
``skdec._dec`` imported are wrapped for the duration of a ``with`` block.
"""

import contextlib
import functools
import time
import warnings

import numpy as np
import torch
from sklearn.cluster import KMeans

import skdec._dec as dec_module
from skdec import DECClusterer

# Name in skdec._dec -> stage it belongs to.
_STAGE_FUNCTIONS = {
    "pretrain_layerwise": "pretraining",
    "pretrain_end_to_end": "pretraining",
    "train_clustering": "clustering",
}
STAGES = ("pretraining", "kmeans", "clustering")


def synchronize():
    """Wait for queued CUDA kernels, so time is charged where the work was asked."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()


@contextlib.contextmanager
def _timer(seconds, stage):
    synchronize()
    start = time.perf_counter()
    try:
        yield
    finally:
        synchronize()
        seconds[stage] = seconds.get(stage, 0.0) + time.perf_counter() - start


@contextlib.contextmanager
def time_stages():
    """Time the stages of DECClusterer fits run inside the block.

    Yields a dict that fills with ``stage -> seconds`` as the stages run
    (only stages that ran appear). Everything else a fit does (validation,
    copying the data, embedding it for k-means, the final labels) is the
    difference between the fit's total time and the sum of the stages.
    """
    seconds = {}
    patched = {}

    class TimedKMeans(KMeans):
        def fit(self, X, y=None, sample_weight=None):
            with _timer(seconds, "kmeans"):
                return super().fit(X, y, sample_weight=sample_weight)

    def timed(function, stage):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with _timer(seconds, stage):
                return function(*args, **kwargs)

        return wrapper

    for name, stage in _STAGE_FUNCTIONS.items():
        if hasattr(dec_module, name):
            patched[name] = getattr(dec_module, name)
            setattr(dec_module, name, timed(patched[name], stage))
    if getattr(dec_module, "KMeans", None) is KMeans:
        patched["KMeans"] = KMeans
        dec_module.KMeans = TimedKMeans
    try:
        yield seconds
    finally:
        for name, original in patched.items():
            setattr(dec_module, name, original)


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

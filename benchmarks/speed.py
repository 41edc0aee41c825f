"""Speed of skdec's training code against plain torch, and where a fit's time goes.

``epoch``: one end-to-end pretraining epoch of the default network on 5000
random rows with ``skdec._train.pretrain`` against a minimal
hand-written loop over the same layers, timed side by side (the ratio must
stay at most 1.3). ``refresh``: seconds per refresh of the target P on
70000 x 784 (MNIST if given, else generated). ``breakdown``: the stages of
one ``DECClusterer.fit`` on digits and on that input (``--big-set`` reduces
the latter). Writes ``speed.json`` and ``speed.md``.
"""

import argparse
import copy
import shlex
import statistics
import time
import warnings
from pathlib import Path

import torch
from sklearn.exceptions import ConvergenceWarning
from torch import nn
from torch.nn import functional as F

from benchmarks import _data
from benchmarks._common import (
    STAGES,
    add_set_argument,
    check_overrides,
    comma_list,
    default_output,
    machine_info,
    stage_seconds,
    synchronize,
    warm_up,
)
from benchmarks.tables import speed_markdown, write_results
from skdec import DECClusterer
from skdec._device import resolve_device, to_training_tensor
from skdec._distributed import LocalComm
from skdec._hooks import Hooks
from skdec._nn import DECModule, StackedAutoencoder
from skdec._train import auto_pretrain_learning_rate, pretrain, refresh_target

MAX_EPOCH_RATIO = 1.3
MNIST_SHAPE = (70000, 784)
MNIST_CLUSTERS = 10
PARTS = ("epoch", "refresh", "breakdown")


def _seconds(function):
    synchronize()
    start = time.perf_counter()
    function()
    synchronize()
    return time.perf_counter() - start


def _network(params, n_features):
    return (n_features, *params["hidden_dims"], params["latent_dim"])


# ---------------------------------------------------------------------------
# 1. A pretraining epoch against a hand-written loop


def as_sequential(autoencoder):
    """A copy of ``autoencoder`` as one ``nn.Sequential`` of the same layers.

    Parameters
    ----------
    autoencoder : skdec._nn.StackedAutoencoder
        The network to copy; it is left unchanged.

    Returns
    -------
    model : torch.nn.Sequential
        Encoder then decoder layers with the same weights, and ReLU where
        ``autoencoder`` has one (not after the embedding or the output).

    Examples
    --------
    >>> import torch
    >>> from skdec._nn import StackedAutoencoder
    >>> ae = StackedAutoencoder((6, 4, 2), generator=torch.Generator().manual_seed(0))
    >>> x = torch.rand(3, 6)
    >>> bool(torch.equal(as_sequential(ae)(x), ae(x)))
    True
    """
    last = autoencoder.n_pairs - 1
    layers = []
    for i, layer in enumerate(autoencoder.encoder_layers):
        layers += [copy.deepcopy(layer)] + ([nn.ReLU()] if i < last else [])
    for i in reversed(range(autoencoder.n_pairs)):
        layers += [copy.deepcopy(autoencoder.decoder_layers[i])]
        layers += [nn.ReLU()] if i > 0 else []
    return nn.Sequential(*layers)


def _hand_written_epoch(model, X, *, batch_size, learning_rate, optimizer, generator):
    """The reference: the shortest sensible torch loop for one epoch."""
    if optimizer == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate, momentum=0.9)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    order = torch.randperm(len(X), generator=generator, device=X.device)
    for idx in order.split(batch_size):
        x = X[idx]
        loss = F.mse_loss(model(x), x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def measure_epoch(params, *, n_samples, repeats, device):
    """Time one pretraining epoch of skdec and of the reference, alternately."""
    dims = _network(params, MNIST_SHAPE[1])
    init = torch.Generator().manual_seed(0)
    X = torch.rand((n_samples, dims[0]), generator=init).to(device)
    autoencoder = StackedAutoencoder(dims, generator=init).to(device)
    reference = as_sequential(autoencoder)
    optimizer = params["pretrain_optimizer"]
    learning_rate = params["pretrain_learning_rate"]
    if learning_rate == "auto":
        learning_rate = auto_pretrain_learning_rate(optimizer, X, LocalComm())
    common = dict(
        batch_size=params["batch_size"],
        learning_rate=learning_rate,
        optimizer=optimizer,
    )
    # Each loop shuffles with its own generator, on the device as skdec's does.
    skdec_generator = torch.Generator(device=device).manual_seed(1)
    reference_generator = torch.Generator(device=device).manual_seed(1)

    def skdec_epoch():
        pretrain(
            autoencoder,
            X,
            method="end_to_end",
            epochs=1,
            dropout=0.0,
            generator=skdec_generator,
            device=device,
            progress=False,
            comm=LocalComm(),
            hooks=Hooks(None, None, LocalComm()),
            **common,
        )

    def reference_epoch():
        _hand_written_epoch(reference, X, generator=reference_generator, **common)

    # Warm-up: allocator, kernels and caches.
    skdec_epoch()
    reference_epoch()
    times = {"skdec": [], "reference": []}
    for repeat in range(repeats):
        order = [("skdec", skdec_epoch), ("reference", reference_epoch)]
        for name, epoch in order[:: 1 if repeat % 2 == 0 else -1]:
            times[name].append(_seconds(epoch))
    skdec_s = statistics.median(times["skdec"])
    reference_s = statistics.median(times["reference"])
    ratio = skdec_s / reference_s
    return {
        "network": list(dims),
        "n_samples": n_samples,
        "device": str(device),
        "repeats": repeats,
        **common,
        "skdec_seconds": times["skdec"],
        "reference_seconds": times["reference"],
        "skdec_median_seconds": skdec_s,
        "reference_median_seconds": reference_s,
        "ratio": ratio,
        "max_ratio": MAX_EPOCH_RATIO,
        "passed": ratio <= MAX_EPOCH_RATIO,
    }


# ---------------------------------------------------------------------------
# 2. Refresh of the target distribution


def measure_refresh(params, X, *, source, repeats, device):
    """Seconds per refresh of Q, P, labels and KL on all of ``X``.

    Times ``skdec._train.refresh_target``, which ``train_clustering`` calls.
    """
    dims = _network(params, X.shape[1])
    init = torch.Generator().manual_seed(0)
    autoencoder = StackedAutoencoder(dims, generator=init)
    centroids = torch.randn((MNIST_CLUSTERS, dims[-1]), generator=init)
    module = DECModule(autoencoder, centroids, params["alpha"]).to(device)
    X = to_training_tensor(X, device)

    def refresh():
        refresh_target(module, X, device=device, comm=LocalComm())

    refresh()  # warm-up
    times = [_seconds(refresh) for _ in range(repeats)]
    return {
        "input": source,
        "n_samples": X.shape[0],
        "n_features": X.shape[1],
        "network": list(dims),
        "device": str(device),
        "seconds": times,
        "median_seconds": statistics.median(times),
    }


# ---------------------------------------------------------------------------
# 3. Where a fit's time goes


def measure_fit(name, X, n_clusters, overrides):
    """Fit DECClusterer once; split its time into stages."""
    estimator = DECClusterer(n_clusters, random_state=0, **overrides)
    warm_up(estimator.device)
    with warnings.catch_warnings(record=True) as caught:
        start = time.perf_counter()
        estimator.fit(X)
        total = time.perf_counter() - start
    stages = stage_seconds(estimator)
    seconds = {stage: stages.get(stage, 0.0) for stage in STAGES}
    seconds["other"] = total - sum(seconds.values())
    history = estimator.history_
    epochs = sum(record["stage"].startswith("pretrain") for record in history)
    refreshes = sum(record["stage"] == "clustering" for record in history)
    return {
        "input": name,
        "n_samples": X.shape[0],
        "n_features": X.shape[1],
        "overrides": overrides,
        "total_seconds": total,
        "stage_seconds": seconds,
        "pretraining_epochs": epochs,
        "clustering_steps": estimator.n_iter_,
        "refreshes": refreshes,
        # Means over all epochs (layer-wise pairs and fine-tuning) and steps
        # (refreshes included), to extrapolate to longer settings.
        "seconds_per_pretraining_epoch": seconds["pretraining"] / epochs
        if epochs
        else None,
        "seconds_per_clustering_step": seconds["clustering"] / estimator.n_iter_
        if estimator.n_iter_
        else None,
        "converged": not any(
            issubclass(w.category, ConvergenceWarning) for w in caught
        ),
    }


# ---------------------------------------------------------------------------
# Command line


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks speed",
        description="Speed of skdec's pretraining epoch against plain torch, "
        "of a refresh of P, and where a fit's time goes.",
    )
    parser.add_argument("--parts", type=comma_list(PARTS), default=list(PARTS))
    parser.add_argument("--epoch-samples", type=int, default=5000)
    parser.add_argument("--big-samples", type=int, default=MNIST_SHAPE[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats")
    parser.add_argument("--mnist", metavar="PATH", help="MNIST as the big input")
    parser.add_argument("--output", type=Path, help="output folder")
    add_set_argument(parser, help_extra="; DECClusterer's, for every part")
    add_set_argument(parser, "--big-set", help_extra="; the big fit only")
    return parser


def main(argv=None):
    """Run the speed benchmark; 0, or 1 if the epoch ratio misses its bar."""
    parser = _parser()
    args = parser.parse_args(argv)
    for name in ("epoch_samples", "big_samples", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer.")
    overrides = dict(args.set)
    big_overrides = {**overrides, **dict(args.big_set)}
    check_overrides(parser, "--set", lambda o: DECClusterer(**o), overrides)
    check_overrides(parser, "--big-set", lambda o: DECClusterer(**o), big_overrides)
    params = DECClusterer(**overrides).get_params()
    device = resolve_device(params["device"])
    results = {
        "machine": machine_info(),
        "command": "python -m benchmarks speed " + shlex.join(argv),
        "overrides": overrides,
        "big_overrides": dict(args.big_set),
    }
    if "epoch" in args.parts:
        results["epoch"] = measure_epoch(
            params, n_samples=args.epoch_samples, repeats=args.repeats, device=device
        )
    if {"refresh", "breakdown"} & set(args.parts):
        X_big, _ = _data.mnist_sized(args.big_samples, mnist=args.mnist)
        big_name = "generated" if args.mnist is None else "MNIST"
    if "refresh" in args.parts:
        results["refresh"] = measure_refresh(
            params, X_big, source=big_name, repeats=args.repeats, device=device
        )
    if "breakdown" in args.parts:
        X_digits, _ = _data.load_one("digits")
        results["breakdown"] = [
            measure_fit("digits", X_digits, 10, overrides),
            measure_fit(big_name, X_big, MNIST_CLUSTERS, big_overrides),
        ]
    output = args.output or default_output("speed-")
    write_results(output / "speed.json", results, speed_markdown)
    return int("epoch" in results and not results["epoch"]["passed"])

"""Speed of skdec's training code against plain torch.

``epoch``: one end-to-end pretraining epoch of the default network on 5000
random rows with ``skdec._train.pretrain`` against a minimal hand-written
loop over the same layers, timed side by side (the ratio must stay at most
1.3). ``refresh``: seconds per refresh of the target P on 70000 x 784 (MNIST
if given, else generated). Writes ``speed.json`` and ``speed.md``.
"""

import argparse
import copy
import shlex
import statistics
import time
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from benchmarks import _data
from benchmarks._common import (
    add_set_argument,
    check_overrides,
    comma_list,
    default_output,
    machine_info,
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
PARTS = ("epoch", "refresh")


def _seconds(function):
    """Seconds of ``function()``, queued CUDA kernels included."""
    sync = torch.cuda.synchronize if torch.cuda.is_available() else lambda: None
    sync()
    start = time.perf_counter()
    function()
    sync()
    return time.perf_counter() - start


def _network(params, n_features):
    return (n_features, *params["hidden_dims"], params["latent_dim"])


def as_sequential(autoencoder):
    """A copy of ``autoencoder`` as one ``nn.Sequential`` of the same layers:
    encoder then decoder, ReLU where it has one (not after the embedding or
    the output)."""
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
    common = dict(batch_size=params["batch_size"], optimizer=optimizer)
    common["learning_rate"] = learning_rate
    # Each loop shuffles with its own generator, on the device as skdec's does.
    skdec_generator = torch.Generator(device=device).manual_seed(1)
    reference_generator = torch.Generator(device=device).manual_seed(1)

    options = dict(method="end_to_end", epochs=1, dropout=0.0, progress=False)

    def skdec_epoch():
        comm = LocalComm()
        hooks = Hooks(None, None, comm)
        kwargs = dict(generator=skdec_generator, device=device, comm=comm, hooks=hooks)
        pretrain(autoencoder, X, **options, **kwargs, **common)

    def reference_epoch():
        _hand_written_epoch(reference, X, generator=reference_generator, **common)

    epochs = {"skdec": skdec_epoch, "reference": reference_epoch}
    for epoch in epochs.values():
        epoch()  # warm-up: allocator, kernels and caches
    result = dict(network=list(dims), n_samples=n_samples, device=str(device))
    result.update(repeats=repeats, **common)
    times = {name: [] for name in epochs}
    for repeat in range(repeats):
        for name in list(epochs)[:: 1 if repeat % 2 == 0 else -1]:
            times[name].append(_seconds(epochs[name]))
    for name, seconds in times.items():
        result[f"{name}_seconds"] = seconds
        result[f"{name}_median_seconds"] = statistics.median(seconds)
    ratio = result["skdec_median_seconds"] / result["reference_median_seconds"]
    result.update(ratio=ratio, max_ratio=MAX_EPOCH_RATIO)
    return {**result, "passed": ratio <= MAX_EPOCH_RATIO}


def measure_refresh(params, X, *, source, repeats, device):
    """Seconds per refresh of Q, P, labels and KL on all of ``X``
    (``skdec._train.refresh_target``, as ``train_clustering`` calls it)."""
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
    result = dict(input=source, n_samples=X.shape[0], n_features=X.shape[1])
    result.update(network=list(dims), device=str(device), seconds=times)
    return {**result, "median_seconds": statistics.median(times)}


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks speed",
        description="Speed of skdec's pretraining epoch against plain torch, "
        "and of a refresh of P.",
    )
    parser.add_argument("--parts", type=comma_list(PARTS), default=list(PARTS))
    parser.add_argument("--epoch-samples", type=int, default=5000)
    parser.add_argument("--big-samples", type=int, default=MNIST_SHAPE[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats")
    parser.add_argument("--mnist", metavar="PATH", help="MNIST as the big input")
    parser.add_argument("--output", type=Path, help="output folder")
    add_set_argument(parser, help_extra="; DECClusterer's, for every part")
    return parser


def main(argv=None):
    """Run the speed benchmark; 0, or 1 if the epoch ratio misses its bar."""
    parser = _parser()
    args = parser.parse_args(argv)
    for name in ("epoch_samples", "big_samples", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer.")
    overrides = dict(args.set)
    estimator = check_overrides(parser, lambda o: DECClusterer(**o), overrides)
    params = estimator.get_params()
    device = resolve_device(params["device"])
    results = {
        "machine": machine_info(),
        "command": "python -m benchmarks speed " + shlex.join(argv),
        "overrides": overrides,
    }
    timing = dict(repeats=args.repeats, device=device)
    if "epoch" in args.parts:
        results["epoch"] = measure_epoch(params, n_samples=args.epoch_samples, **timing)
    if "refresh" in args.parts:
        X, _ = _data.mnist_sized(args.big_samples, mnist=args.mnist)
        source = "generated" if args.mnist is None else "MNIST"
        results["refresh"] = measure_refresh(params, X, source=source, **timing)
    output = args.output or default_output("speed-")
    write_results(output / "speed.json", results, speed_markdown)
    return int("epoch" in results and not results["epoch"]["passed"])

"""Speed of skdec's training code, measured against plain torch.

Three measurements, written to ``speed.json`` and ``speed.md``:

1. ``epoch``: one end-to-end pretraining epoch of the default network
   (784-500-500-2000-10 and mirror) on 5000 random samples with
   ``skdec._train.pretrain_end_to_end``, against a minimal hand-written loop
   over the same layers (same optimiser, batch 256; skdec's loop also clips
   the gradient norm when the optimiser is SGD), timed side by side. The ratio
   must stay at most 1.3.
2. ``refresh``: seconds per refresh of the target distribution P on the
   whole data set (70000 x 784: MNIST if given, else generated), as the
   clustering stage does it.
3. ``breakdown``: where a ``DECClusterer.fit`` spends its time (pretraining,
   k-means, clustering stage, the rest) on digits and on the 70000 x 784
   input, whose settings can be reduced with ``--big-set``.

Run ``python -m benchmarks speed --help``.
"""

import argparse
import copy
import shlex
import statistics
import sys
import time
import warnings
from pathlib import Path

if __package__ in (None, ""):  # run as ``python benchmarks/speed.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from benchmarks._machine import machine_info, machine_summary  # noqa: E402
from benchmarks._options import (  # noqa: E402
    add_set_argument,
    check_overrides,
    comma_list,
    default_output,
)
from benchmarks._report import write_json  # noqa: E402
from benchmarks._stages import STAGES, stage_seconds, synchronize, warm_up  # noqa: E402
from skdec import DECClusterer  # noqa: E402
from skdec._device import resolve_device, to_training_tensor  # noqa: E402
from skdec._nn import DECModule, StackedAutoencoder  # noqa: E402
from skdec._train import (  # noqa: E402
    auto_pretrain_learning_rate,
    pretrain_end_to_end,
    refresh_target,
)

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


def _log(message):
    print(message, file=sys.stderr, flush=True)


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
        learning_rate = auto_pretrain_learning_rate(optimizer, X)
    common = dict(
        batch_size=params["batch_size"],
        learning_rate=learning_rate,
        optimizer=optimizer,
    )
    # Each loop shuffles with its own generator, on the device as skdec's does.
    skdec_generator = torch.Generator(device=device).manual_seed(1)
    reference_generator = torch.Generator(device=device).manual_seed(1)

    def skdec_epoch():
        pretrain_end_to_end(
            autoencoder, X, epochs=1, generator=skdec_generator, device=device, **common
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
        refresh_target(module, X, device=device)

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
# Data


def _big_input(args):
    """``(X, name)``: MNIST when given, else generated clusters of its size."""
    if args.mnist is not None:
        from skdec.datasets import load_mnist

        X, _ = load_mnist(args.mnist)
        return X[: args.big_samples], "MNIST"
    from skdec.datasets import make_nonlinear_blobs

    X, _ = make_nonlinear_blobs(
        args.big_samples,
        n_clusters=MNIST_CLUSTERS,
        n_features=MNIST_SHAPE[1],
        random_state=0,
    )
    return X, "generated"


# ---------------------------------------------------------------------------
# Report


def _describe(input_name):
    if input_name == "generated":
        return "generated with skdec.datasets.make_nonlinear_blobs, no --mnist given"
    return input_name


def _assignments(overrides):
    return ", ".join(f"{key}={value!r}" for key, value in overrides.items())


def _settings(overrides):
    return "defaults + " + _assignments(overrides) if overrides else "defaults"


def markdown(results):
    """The speed results as a markdown document."""
    lines = [
        "# skdec speed",
        "",
        f"- Machine: {machine_summary(results['machine'])}",
        f"- Command: `{results['command']}`",
        f"- DECClusterer settings: {_settings(results['overrides'])}",
    ]
    epoch = results.get("epoch")
    if epoch:
        verdict = "met" if epoch["passed"] else "MISSED"
        lines += [
            "",
            "## One pretraining epoch against a hand-written torch loop",
            "",
            f"Network {'-'.join(map(str, epoch['network']))} and mirror, "
            f"{epoch['n_samples']} random samples, batch {epoch['batch_size']}, "
            f"{epoch['optimizer']} lr {epoch['learning_rate']}, "
            f"device {epoch['device']}; median "
            f"of {epoch['repeats']} epochs each, alternating, after one warm-up "
            "epoch each.",
            "",
            "| loop | median s | all s |",
            "|---|---|---|",
            f"| skdec `pretrain_end_to_end` | {epoch['skdec_median_seconds']:.3f} | "
            f"{', '.join(f'{s:.3f}' for s in epoch['skdec_seconds'])} |",
            f"| hand-written | {epoch['reference_median_seconds']:.3f} | "
            f"{', '.join(f'{s:.3f}' for s in epoch['reference_seconds'])} |",
            "",
            f"**Ratio {epoch['ratio']:.3f}** (bar: at most {epoch['max_ratio']}, "
            f"{verdict}).",
        ]
    refresh = results.get("refresh")
    if refresh:
        lines += [
            "",
            "## Refresh of the target distribution P",
            "",
            f"{refresh['n_samples']} x {refresh['n_features']} "
            f"({_describe(refresh['input'])}); "
            f"network {'-'.join(map(str, refresh['network']))}, device "
            f"{refresh['device']}: **{refresh['median_seconds']:.3f} s per refresh** "
            f"(median of {len(refresh['seconds'])}, after one warm-up).",
        ]
    fits = results.get("breakdown")
    if fits:
        lines += [
            "",
            "## Where a fit's time goes",
            "",
            "Seconds per stage of one `DECClusterer.fit`; other = validation, "
            "copying the data, embedding it for k-means, final labels.",
            "",
            "| input | settings | pretraining | k-means | clustering | other | "
            "total | pretraining epochs | s/epoch | clustering steps | s/step | "
            "refreshes |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for fit in fits:
            s = fit["stage_seconds"]
            lines.append(
                f"| {fit['input']} ({fit['n_samples']} x {fit['n_features']}) | "
                f"{_settings(fit['overrides'])} | {s['pretraining']:.2f} | "
                f"{s['kmeans']:.2f} | {s['clustering']:.2f} | {s['other']:.2f} | "
                f"{fit['total_seconds']:.2f} | {fit['pretraining_epochs']} | "
                f"{_per_unit(fit['seconds_per_pretraining_epoch'])} | "
                f"{fit['clustering_steps']} | "
                f"{_per_unit(fit['seconds_per_clustering_step'])} | "
                f"{fit['refreshes']} |"
            )
        if results["big_overrides"]:
            lines += [
                "",
                f"The {fits[-1]['input']} fit ran with --big-set "
                f"{_assignments(results['big_overrides'])}, so its times are not "
                "those of a fit with the settings above; s/epoch (mean over "
                "layer-wise and fine-tuning epochs) and s/step (refreshes "
                "included) scale them to other settings.",
            ]
    return "\n".join(lines) + "\n"


def _per_unit(seconds):
    return "n/a" if seconds is None else f"{seconds:.4f}"


# ---------------------------------------------------------------------------
# Command line


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks speed",
        description="Speed of skdec's pretraining epoch against plain torch, "
        "of a refresh of P, and where a fit's time goes.",
    )
    parser.add_argument(
        "--parts",
        type=comma_list(PARTS),
        default=list(PARTS),
        help=f"comma-separated, from {', '.join(PARTS)} (default: all)",
    )
    parser.add_argument(
        "--epoch-samples",
        type=int,
        default=5000,
        help="rows for the pretraining epoch (default: 5000)",
    )
    parser.add_argument(
        "--big-samples",
        type=int,
        default=MNIST_SHAPE[0],
        help="rows of the MNIST-sized input (default: 70000)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="timed repeats of the epoch and of the refresh (default: 3)",
    )
    parser.add_argument(
        "--mnist",
        metavar="PATH",
        help="local MNIST (IDX folder or .npz) for the refresh and the big fit; "
        "generated data of the same size otherwise",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="output folder (default: benchmarks/results/speed-<date-time>)",
    )
    add_set_argument(
        parser,
        help_extra="; DECClusterer's, for the network, batch size, learning "
        "rates and device of every part",
    )
    add_set_argument(
        parser,
        "--big-set",
        help_extra="; only for the fit on the big input, "
        "on top of --set (e.g. --big-set pretrain_epochs=1 to cut its time)",
    )
    return parser


def main(argv=None):
    """Run the speed benchmark; return 0, or 1 if the epoch ratio misses its bar.

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
    for name in ("epoch_samples", "big_samples", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer.")
    overrides = dict(args.set)
    big_overrides = {**overrides, **dict(args.big_set)}
    check_overrides(parser, "--set", lambda o: DECClusterer(**o), overrides)
    check_overrides(parser, "--big-set", lambda o: DECClusterer(**o), big_overrides)
    params = DECClusterer(**overrides).get_params()
    device = resolve_device(params["device"])
    output = args.output or default_output("speed-")
    output.mkdir(parents=True, exist_ok=True)

    results = {
        "machine": machine_info(),
        "command": "python -m benchmarks speed " + shlex.join(argv),
        "overrides": overrides,
        "big_overrides": dict(args.big_set),
    }
    if "epoch" in args.parts:
        _log("Timing a pretraining epoch against the hand-written loop...")
        results["epoch"] = measure_epoch(
            params, n_samples=args.epoch_samples, repeats=args.repeats, device=device
        )
        _log(f"  ratio {results['epoch']['ratio']:.3f}")
    if {"refresh", "breakdown"} & set(args.parts):
        _log("Loading the MNIST-sized input...")
        X_big, big_name = _big_input(args)
    if "refresh" in args.parts:
        _log("Timing refreshes of P...")
        results["refresh"] = measure_refresh(
            params, X_big, source=big_name, repeats=args.repeats, device=device
        )
        _log(f"  {results['refresh']['median_seconds']:.3f} s per refresh")
    if "breakdown" in args.parts:
        from skdec.datasets import load_digits_scaled

        results["breakdown"] = []
        fits = [
            ("digits", load_digits_scaled()[0], 10, overrides),
            (big_name, X_big, MNIST_CLUSTERS, big_overrides),
        ]
        for name, X, n_clusters, fit_overrides in fits:
            _log(f"Fitting DECClusterer on {name} {X.shape}...")
            results["breakdown"].append(measure_fit(name, X, n_clusters, fit_overrides))
            _log(f"  {results['breakdown'][-1]['total_seconds']:.1f} s")

    write_json(output / "speed.json", results)
    report = markdown(results)
    (output / "speed.md").write_text(report)
    print(report)
    print(f"Wrote speed.json and speed.md to {output}")
    return int("epoch" in results and not results["epoch"]["passed"])


if __name__ == "__main__":
    sys.exit(main())

"""Time per training step of DEC's default network, eager against torch.compile.

One end-to-end pretraining step (forward, MSE, backward, SGD with momentum)
on a batch of 256 rows of the d-500-500-2000-10 autoencoder, for 64
features (digits) and 784 (Fashion-MNIST), with 1 and 2 torch threads. Each
configuration's first step (compilation, for torch.compile) is timed on
its own; then 5 rounds of 50 steps, the configurations interleaved so that
background load falls on all alike. Usage: measure.py OUT_JSON
"""

import json
import statistics
import sys
import time

import torch
from torch import nn


def autoencoder(n_features):
    dims = [n_features, 500, 500, 2000, 10]
    layers = []
    for n_in, n_out in zip(dims[:-1], dims[1:], strict=True):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    encoder = layers[:-1]  # no ReLU on the embedding
    layers = []
    for n_in, n_out in zip(dims[::-1][:-1], dims[::-1][1:], strict=True):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    return nn.Sequential(*encoder, *layers[:-1])  # nor on the reconstruction


def training_step(n_features, compiled):
    torch.manual_seed(0)
    network = autoencoder(n_features)
    optimizer = torch.optim.SGD(network.parameters(), lr=0.1, momentum=0.9)
    x = torch.rand(256, n_features)

    def step():
        optimizer.zero_grad(set_to_none=True)
        nn.functional.mse_loss(network(x), x).backward()
        optimizer.step()

    return torch.compile(step) if compiled else step


def main(out):
    runs = {}
    for n_features in (64, 784):
        for threads in (1, 2):
            for compiled in (False, True):
                torch.set_num_threads(threads)
                step = training_step(n_features, compiled)
                start = time.perf_counter()
                step()
                runs[n_features, threads, compiled] = (
                    step,
                    time.perf_counter() - start,
                    [],
                )
    for _ in range(5):
        for (_, threads, _), (step, _, times) in runs.items():
            torch.set_num_threads(threads)
            start = time.perf_counter()
            for _ in range(50):
                step()
            times.append((time.perf_counter() - start) / 50)
    rows = []
    for (n_features, threads, compiled), (_, first, times) in runs.items():
        row = {
            "n_features": n_features,
            "threads": threads,
            "compiled": compiled,
            "first_step_s": first,
            "step_ms": 1000 * statistics.median(times),
            "step_ms_min": 1000 * min(times),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    with open(out, "w") as file:
        json.dump({"torch": torch.__version__, "rows": rows}, file, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])

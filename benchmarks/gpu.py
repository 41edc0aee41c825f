"""The GPU check: one short script for a machine with CUDA GPUs (under 5 minutes).

    python -m benchmarks.gpu --output benchmarks/results/gpu

1. A DECClusterer fit on generated 70,000 x 784 data (ten blobs seen through
   a non-linear map, MNIST's shape) on ``cuda:0`` with the default network:
   seconds per pretraining epoch and per clustering step, the whole fit,
   peak GPU memory, ARI against the blobs.
2. One pretraining epoch of the same network on the CPU (on a tenth of the
   rows, scaled up), for the speed-up.
3. Data-parallel on every visible GPU (NCCL, one process per GPU, each with
   its own shard): seconds per pretraining epoch, and whether every rank
   ended with the same weights.

Writes ``gpu.json`` and ``gpu.md``. Without CUDA it says so and exits with
status 2: the suite's tests never need a GPU.
"""

import argparse
import json
import os
import socket
import sys
import time
import warnings
from pathlib import Path

import numpy as np

N_SAMPLES, N_FEATURES, N_CLUSTERS = 70_000, 784, 10
PRETRAIN_EPOCHS = 20
MAX_ITER = 2000


def make_data(n_samples=N_SAMPLES, seed=0):
    from sklearn.datasets import make_blobs

    latent, y = make_blobs(
        n_samples, n_features=10, centers=N_CLUSTERS, random_state=seed
    )
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=(10, N_FEATURES)) / np.sqrt(10)
    X = 1 / (1 + np.exp(-latent @ weights))  # pixels in (0, 1)
    return X.astype(np.float32), y


def _epoch_seconds(estimator):
    epochs = [r for r in estimator.history_ if r["stage"].startswith("pretrain")]
    return float(np.median([r["seconds"] for r in epochs])) if epochs else None


def single_gpu(X, y):
    import torch
    from sklearn.metrics import adjusted_rand_score

    from skdec import DECClusterer

    torch.cuda.reset_peak_memory_stats()
    dec = DECClusterer(
        N_CLUSTERS,
        pretrain_epochs=PRETRAIN_EPOCHS,
        max_iter=MAX_ITER,
        device="cuda:0",
        random_state=0,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dec.fit(X)
    total = time.perf_counter() - start
    clustering = [r for r in dec.history_ if r["stage"] == "clustering"]
    return {
        "fit_seconds": total,
        "seconds_per_pretraining_epoch": _epoch_seconds(dec),
        "seconds_per_clustering_step": sum(r["seconds"] for r in clustering)
        / max(dec.n_iter_, 1),
        "clustering_steps": dec.n_iter_,
        "peak_gpu_memory_mb": torch.cuda.max_memory_allocated() / 2**20,
        "ari": float(adjusted_rand_score(y, dec.labels_)),
    }


def cpu_epoch(X):
    from skdec import DECClusterer

    part = X[: len(X) // 10]
    dec = DECClusterer(
        N_CLUSTERS, pretrain_epochs=1, max_iter=0, device="cpu", random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dec.fit(part)
    return _epoch_seconds(dec) * len(X) / len(part)


def _ddp_worker(rank, world, port, X, out):
    import torch
    import torch.distributed as dist

    from skdec import DECClusterer

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.cuda.set_device(rank)
    dist.init_process_group("nccl", rank=rank, world_size=world)
    dec = DECClusterer(
        N_CLUSTERS, pretrain_epochs=5, max_iter=200, device=f"cuda:{rank}"
    ).set_params(random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dec.fit(X[rank::world])
    checksum = sum(float(v.double().sum()) for v in dec.module_.state_dict().values())
    out[rank] = {
        "seconds_per_pretraining_epoch": _epoch_seconds(dec),
        "checksum": checksum,
    }
    dist.destroy_process_group()


def data_parallel(X):
    import torch
    import torch.multiprocessing as mp

    world = torch.cuda.device_count()
    if world < 2:
        return {"gpus": world, "note": "one GPU: data-parallel not run"}
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = mp.Manager().dict()
    mp.spawn(_ddp_worker, args=(world, port, X, out), nprocs=world)
    ranks = [out[r] for r in range(world)]
    return {
        "gpus": world,
        "seconds_per_pretraining_epoch": ranks[0]["seconds_per_pretraining_epoch"],
        "same_weights_on_every_rank": len({r["checksum"] for r in ranks}) == 1,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/gpu"))
    args = parser.parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        print("benchmarks.gpu: no CUDA device here; run it on a GPU machine.")
        return 2
    X, y = make_data()
    results = {
        "device": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "single_gpu": single_gpu(X, y),
        "cpu_seconds_per_pretraining_epoch": cpu_epoch(X),
        "data_parallel": data_parallel(X),
    }
    gpu = results["single_gpu"]["seconds_per_pretraining_epoch"]
    results["speedup_per_epoch"] = results["cpu_seconds_per_pretraining_epoch"] / gpu
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "gpu.json").write_text(json.dumps(results, indent=2))
    lines = ["| measure | value |", "|---|---|"]
    for key, value in results.items():
        lines.append(f"| {key} | {value} |")
    (args.output / "gpu.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

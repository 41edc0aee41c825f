"""The GPU check, for a machine with CUDA GPUs (a few minutes).

A ``DECClusterer`` fit of the default network on generated 70,000 x 784 data
(:func:`benchmarks._data.mnist_sized`) on ``cuda:0``: seconds per
pretraining epoch and per clustering step, peak GPU memory, ARI; one
pretraining epoch on the CPU (a tenth of the rows, scaled up) for the
speed-up; with two or more GPUs, a data-parallel fit (NCCL, one process per
GPU) and whether every rank ended with the same weights. Writes
``gpu.json`` and ``gpu.md``; without CUDA it exits with status 2.
"""

import argparse
import os
import socket
import time
import warnings
from pathlib import Path

import torch
from sklearn.metrics import adjusted_rand_score

from benchmarks import _data
from benchmarks._common import history_seconds, machine_info, table, write_results
from skdec import DECClusterer

N_CLUSTERS = 10


def _fit(X, **params):
    dec = DECClusterer(N_CLUSTERS, random_state=0, **params)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dec.fit(X)
    seconds = history_seconds(dec)
    return dec, {
        "fit_seconds": time.perf_counter() - start,
        "seconds_per_pretraining_epoch": seconds["pretrain_epoch_seconds"],
        "seconds_per_clustering_step": seconds["step_seconds"],
        "seconds_per_refresh": seconds["refresh_seconds"],
        "clustering_steps": int(dec.n_iter_),
    }


def _ddp_worker(rank, world, port, X, out):
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.cuda.set_device(rank)
    dist.init_process_group("nccl", rank=rank, world_size=world)
    params = dict(pretrain_epochs=5, max_iter=200, device=f"cuda:{rank}")
    dec, result = _fit(X[rank::world], **params)
    weights = dec.module_.state_dict().values()
    out[rank] = {**result, "checksum": sum(float(v.double().sum()) for v in weights)}
    dist.destroy_process_group()


def data_parallel(X):
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


def _markdown(results):
    rows = [[key, value] for key, value in results.items() if key != "machine"]
    return "\n".join(table(["measure", "value"], rows)) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks gpu")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/gpu"))
    parser.add_argument("--n-samples", type=int, default=70_000)
    parser.add_argument("--pretrain-epochs", type=int, default=20)
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("benchmarks gpu: no CUDA device here; run it on a GPU machine.")
        return 2
    X, y = _data.mnist_sized(args.n_samples)
    torch.cuda.reset_peak_memory_stats()
    epochs = args.pretrain_epochs
    dec, single = _fit(X, pretrain_epochs=epochs, max_iter=2000, device="cuda:0")
    single["peak_gpu_memory_mb"] = torch.cuda.max_memory_allocated() / 2**20
    single["ari"] = float(adjusted_rand_score(y, dec.labels_))
    part = X[: len(X) // 10]
    _, cpu = _fit(part, pretrain_epochs=1, max_iter=0, device="cpu")
    cpu_epoch = cpu["seconds_per_pretraining_epoch"] * len(X) / len(part)
    results = {
        "machine": machine_info(),
        "device": torch.cuda.get_device_name(0),
        "single_gpu": single,
        "cpu_seconds_per_pretraining_epoch": cpu_epoch,
        "speedup_per_epoch": cpu_epoch / single["seconds_per_pretraining_epoch"],
        "data_parallel": data_parallel(X),
    }
    write_results(args.output / "gpu.json", results, _markdown)
    return 0

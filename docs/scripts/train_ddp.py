"""Data-parallel DEC: ``torchrun --nproc-per-node 2 train_ddp.py``.

Each process trains on its own rows and every process ends with the same
model. With CUDA, each process uses its local rank's GPU and NCCL; without,
the CPU and gloo, so the same script runs on a laptop.
"""

import os

import numpy as np
import torch
import torch.distributed as dist
from sklearn.datasets import make_blobs

from skdec import DECClusterer


def load_data():
    """Stand-in data. With your own, open a memory map on every rank:
    ``np.load("X.npy", mmap_mode="r")``."""
    X, _ = make_blobs(n_samples=2000, centers=4, n_features=20, random_state=0)
    return ((X - X.min(0)) / (X.max(0) - X.min(0))).astype(np.float32)


def main():
    local_rank = int(os.environ.get("LOCAL_RANK", 0))  # set by torchrun
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        device = f"cuda:{local_rank}"
        dist.init_process_group("nccl")
    else:
        device = "cpu"
        dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()

    X = load_data()
    shard = X[rank::world]  # or a contiguous block per rank: X[start:stop]
    # A small network, so that the example runs in seconds; leave out the
    # module__ and pretrain_* settings for the paper's.
    dec = DECClusterer(
        n_clusters=4,
        module__hidden_dims=(64,),
        module__latent_dim=4,
        pretrain_optimizer="adam",
        pretrain_epochs=10,
        device=device,
        random_state=0,
    ).fit(shard)
    print(f"rank {rank}: {len(shard)} rows, {dec.n_iter_} clustering steps")
    if rank == 0:
        dec.save("model.skdec")  # save on one rank only
    dist.destroy_process_group()


if __name__ == "__main__":
    main()

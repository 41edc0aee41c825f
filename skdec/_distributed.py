"""Data-parallel training on torch.distributed: the collectives DEC needs.

When the user's script has initialised a default process group (for example
under ``torchrun``) and the estimator's ``distributed="auto"``, each rank
fits on its own shard of rows and the ranks stay one model:

- gradients are averaged across ranks after every step (what
  ``DistributedDataParallel`` does, done by hand because the loops also
  train parts of a module and switch modules between stages);
- whole-data statistics (losses, the cluster frequencies of the target P, the
  fraction of changed labels, the input's power, the embedding's spread) are
  summed across ranks, so every rank takes the same decisions and runs the
  same sequence of collectives;
- the k-means start sees a sample of every rank's embedding, and rank 0's
  centroids are broadcast;
- an error on one rank before training (bad input) is raised on every rank.

A rank that dies makes the others' next collective fail after the process
group's timeout (``init_process_group(timeout=...)``), never hang forever.
Without a process group the estimators use :class:`LocalComm`, whose
collectives are those of one process: the same code runs either way.
"""

import numpy as np
import torch
import torch.distributed as dist


class Comm:
    """The default process group, seen from one rank."""

    def __init__(self):
        self.rank = dist.get_rank()
        self.world_size = dist.get_world_size()
        # NCCL reduces CUDA tensors only; gloo takes CPU tensors.
        backend = dist.get_backend()
        self.device = (
            torch.device("cuda", torch.cuda.current_device())
            if backend == "nccl"
            else torch.device("cpu")
        )

    @property
    def is_main(self):
        return self.rank == 0

    # -- reductions -----------------------------------------------------------

    def sum(self, values):
        """Element-wise sum of a float or array-like across ranks (float64)."""
        tensor = torch.as_tensor(np.asarray(values, dtype=np.float64))
        tensor = tensor.to(self.device)
        dist.all_reduce(tensor)
        result = tensor.cpu().numpy()
        return float(result) if result.ndim == 0 else result

    def mean(self, value, weight):
        """Mean over ranks of ``value`` weighted by ``weight`` (e.g. row counts)."""
        total, weights = self.sum([value * weight, weight])
        return total / weights

    def max(self, value):
        tensor = torch.tensor(float(value), dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return float(tensor)

    def sum_tensor(self, tensor):
        """``tensor`` (any device) summed across ranks, in place."""
        if tensor.device.type == self.device.type:
            dist.all_reduce(tensor)
            return tensor
        moved = tensor.to(self.device)
        dist.all_reduce(moved)
        tensor.copy_(moved)
        return tensor

    def average_gradients(self, parameters):
        """Replace every gradient by its mean over the ranks (one all-reduce)."""
        grads = [p.grad for p in parameters if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        self.sum_tensor(flat).div_(self.world_size)
        offset = 0
        for g in grads:
            g.copy_(flat[offset : offset + g.numel()].view_as(g))
            offset += g.numel()

    # -- whole objects --------------------------------------------------------

    def gather(self, obj):
        """Every rank's ``obj``, in rank order, on every rank."""
        out = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def broadcast(self, obj):
        """Rank 0's ``obj`` on every rank."""
        box = [obj if self.is_main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def broadcast_module(self, module):
        """Copy rank 0's parameters and buffers into every rank's module."""
        for tensor in [*module.parameters(), *module.buffers()]:
            moved = tensor.data.to(self.device)
            dist.broadcast(moved, src=0)
            tensor.data.copy_(moved)

    def raise_if_any_failed(self, error):
        """Raise on every rank if ``error`` (an exception or None) is set anywhere.

        Each rank passes what its own validation raised; all ranks then raise
        the same ``ValueError`` naming the failing rank, so none is left
        waiting in a collective for a rank that gave up.
        """
        errors = self.gather(None if error is None else (type(error), str(error)))
        for rank, failure in enumerate(errors):
            if failure is not None:
                kind, message = failure
                kind = kind if kind in (ValueError, TypeError) else ValueError
                raise kind(f"rank {rank}: {message}") from error
        return None


class LocalComm:
    """One process: :class:`Comm`'s collectives, exact and without traffic."""

    rank = 0
    world_size = 1
    is_main = True
    device = torch.device("cpu")

    def sum(self, values):
        result = np.asarray(values, dtype=np.float64)
        return float(result) if result.ndim == 0 else result

    def mean(self, value, weight):
        return value

    def max(self, value):
        return float(value)

    def sum_tensor(self, tensor):
        return tensor

    def average_gradients(self, parameters):
        pass

    def gather(self, obj):
        return [obj]

    def broadcast(self, obj):
        return obj

    def broadcast_module(self, module):
        pass

    def raise_if_any_failed(self, error):
        if error is not None:
            raise error


def current_comm(distributed):
    """A :class:`Comm` when training should be data-parallel, else a LocalComm."""
    if distributed is False or not dist.is_available() or not dist.is_initialized():
        return LocalComm()
    if dist.get_world_size() < 2:
        return LocalComm()
    return Comm()


def sample_rows(array, n_rows, seed):
    """A seeded sample of at most ``n_rows`` rows of ``array`` (all if fewer)."""
    if len(array) <= n_rows:
        return array
    rows = np.random.RandomState(seed).choice(len(array), n_rows, replace=False)
    return array[np.sort(rows)]

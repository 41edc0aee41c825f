"""Mini-batches for training and batched inference with bounded memory.

Every training loop of :mod:`skdec._train` draws its shuffled passes here,
and every inference pass (the estimators' ``predict``/``transform``, the
clustering stage's target refreshes) maps its function over rows here.
"""

import numpy as np
import torch

from ._data import read_rows, rows_per_chunk

# Rows per forward pass at inference: large enough to keep the device busy,
# small enough to bound memory (2048 x 2000 float32 activations = 16 MB).
INFERENCE_BATCH_SIZE = 2048
_MIN_ROWS = 64


def minibatches(
    n_samples, batch_size, generator, device, data_device=None, *, min_size=1
):
    """``(idx, data_idx)`` batches of one shuffled pass over the rows.

    ``idx`` lives on the compute ``device`` (to index per-row state such as
    the target P) and ``data_idx`` on ``data_device``, where the rows are:
    the permutation moves there once per pass, not once per step, so
    host-resident data costs no host synchronisation per step. A last batch
    of fewer than ``min_size`` rows joins the one before it (batch
    normalisation cannot train on a single row).
    """
    order = torch.randperm(n_samples, generator=generator, device=device)
    on_data = order if data_device in (None, order.device) else order.to(data_device)
    idx = list(torch.split(order, batch_size))
    data_idx = list(torch.split(on_data, batch_size))
    if len(idx) > 1 and len(idx[-1]) < min_size:
        idx[-2:] = [torch.cat(idx[-2:])]
        data_idx[-2:] = [torch.cat(data_idx[-2:])]
    return list(zip(idx, data_idx, strict=True))


def endless_minibatches(n_samples, batch_size, generator, device, data_device=None):
    """Shuffled passes over the rows, one after the other, without end."""
    while True:
        yield from minibatches(n_samples, batch_size, generator, device, data_device)


def take_rows(X, data_idx, device):
    """Rows ``data_idx`` of ``X`` (indices on ``X``'s device) on ``device``.

    Rows gathered from pinned host memory are gathered into pinned memory,
    so that the copy to the accelerator does not block.
    """
    if isinstance(X, torch.Tensor) and X.device != device and X.is_pinned():
        rows = torch.empty(
            (len(data_idx), *X.shape[1:]), dtype=X.dtype, pin_memory=True
        )
        torch.index_select(X, 0, data_idx, out=rows)
    else:
        rows = X[data_idx]
    return rows.to(device, non_blocking=True)


@torch.no_grad()
def map_batches(fn, X, *, device, batch_size=INFERENCE_BATCH_SIZE):
    """Apply ``fn`` to ``X`` (rows) in batches, into one tensor on ``device``.

    The output is allocated once and filled, so the peak memory is the
    result itself, not the result plus a list of its pieces.
    """
    out = None
    for start in range(0, len(X), batch_size):
        result = fn(X[start : start + batch_size].to(device))
        if out is None:
            out = result.new_empty((len(X), *result.shape[1:]))
        out[start : start + len(result)] = result
    return out


@torch.no_grad()
def map_batches_numpy(fn, X, *, device, out_dim, batch_size=INFERENCE_BATCH_SIZE):
    """Apply ``fn`` to ``X`` (numpy or streamed) in batches, into a numpy array.

    Only one batch of input and output lives on the device at a time, so
    memory stays bounded whatever the number of rows. Batches shorter than
    ``_MIN_ROWS`` are zero-padded: BLAS switches to other kernels (with
    another summation order) for a handful of rows; padding keeps a row's
    result the same, to float32 rounding, whichever rows share its batch.
    """
    out = np.empty((X.shape[0], out_dim), dtype=np.float32)
    # Wide inputs (text: 20,000 columns) get fewer rows per batch.
    batch_size = min(batch_size, rows_per_chunk(X.shape[1]))
    for start in range(0, X.shape[0], batch_size):
        rows = read_rows(X, start, start + batch_size)
        batch = torch.zeros((max(len(rows), _MIN_ROWS), X.shape[1]))
        batch[: len(rows)] = torch.from_numpy(rows)
        result = fn(batch.to(device))[: len(rows)]
        out[start : start + len(rows)] = result.cpu().numpy()
    return out

"""Choosing the torch device and placing data on it."""

import torch

from ._data import RowSource, chunks, is_streamed

# Move the whole training set to an accelerator only when it takes at most this
# share of the free memory; otherwise keep it on the host and move batches.
_DEVICE_DATA_SHARE = 0.25


def resolve_device(device):
    """Map the ``device`` parameter ("auto", "cpu", "cuda", "cuda:N") to a device.

    Raises ``ValueError`` naming the problem for an unknown string or for
    CUDA on a machine without it, before any training starts.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a valid torch device; use 'auto', 'cpu' "
            "or 'cuda'."
        ) from exc
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(
            f"device={device!r} is not supported; use 'auto', 'cpu' or 'cuda'."
        )
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested but CUDA is not available on "
                "this machine; use device='auto' or 'cpu'."
            )
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r}: this machine has only "
                f"{torch.cuda.device_count()} CUDA device(s)."
            )
    return resolved


def _fits_on_device(n_bytes, device):
    if device.type != "cuda":
        return False
    free, _ = torch.cuda.mem_get_info(device)
    return n_bytes <= _DEVICE_DATA_SHARE * free


def to_training_tensor(X, device, *, scale=1.0):
    """``X`` as float32 rows for the training loops, times ``scale``.

    In-memory arrays become a tensor, on ``device`` when they fit
    comfortably there (the copy is deliberate: read-only inputs cannot be
    wrapped safely). Streamed inputs (memory maps, sparse matrices, h5py or
    zarr datasets; see :mod:`skdec._data`) go to an accelerator whole, chunk
    by chunk, when they fit there, and are otherwise read a batch at a time
    by a :class:`~skdec._data.RowSource`, never copied whole to the host.
    """
    n_bytes = 4 * X.shape[0] * X.shape[1]
    if is_streamed(X):
        if not _fits_on_device(n_bytes, device):
            return RowSource(X, scale=scale, pin=device.type == "cuda")
        tensor = torch.empty(tuple(X.shape), dtype=torch.float32, device=device)
        for start, rows in chunks(X):
            tensor[start : start + len(rows)] = torch.from_numpy(rows).to(device)
    else:
        tensor = torch.tensor(X, dtype=torch.float32)
        if _fits_on_device(n_bytes, device):
            tensor = tensor.to(device)
        elif device.type == "cuda":
            # Host-resident data: pinned, so batches copy without blocking.
            tensor = tensor.pin_memory()
    if scale != 1.0:
        tensor.mul_(scale)
    return tensor

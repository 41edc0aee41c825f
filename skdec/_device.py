"""Choosing the torch device and placing data on it."""

import torch

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


def to_training_tensor(X, device):
    """``X`` as a float32 tensor, on ``device`` when it fits comfortably there.

    The copy is deliberate: inputs may be read-only memory maps, which
    ``torch.from_numpy`` cannot wrap safely.
    """
    tensor = torch.tensor(X, dtype=torch.float32)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        if tensor.element_size() * tensor.nelement() <= _DEVICE_DATA_SHARE * free:
            tensor = tensor.to(device)
    return tensor

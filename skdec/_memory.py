"""``memory=``: the pretrained autoencoder kept on disk for the fits that share it.

A search over ``n_clusters`` repeats the same pretraining in every fit on a
training set. As scikit-learn's ``AgglomerativeClustering(memory=...)``
caches its tree with ``n_clusters`` outside the key, DEC and IDEC keep their
pretrained autoencoder, keyed on what pretraining is a function of: the rows
as pretraining reads them, the parameters that shape it, the network's
initial weights, the seeds, the device type, the number of ranks and the
versions of skdec and torch. An entry holds what pretraining leaves behind
(the weights, the training generator's state and the pretraining records of
``history_``), so a fit that loads it goes on exactly as the fit that wrote
it. A result drawn with ``random_state=None`` is never kept.

An entry is one ``.npz`` archive of plain arrays, its key and records as
UTF-8 JSON in a byte array: loading runs no code. It is written to a
temporary file and renamed, so a reader sees a whole entry or none; an
unreadable entry, or one written for another key (another version), is
ignored and replaced. The key holds the versions, not the code: in a
development checkout whose training code changes under one version, empty
the folder.

Data-parallel, the key holds every rank's fingerprint in rank order, so it
is the same on every rank; rank 0 alone reads and writes the folder and
shares what it found, so the ranks load together or pretrain together.
"""

import hashlib
import inspect
import json
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from ._archive import READ_ERRORS, json_default, write_archive
from ._data import rows_per_chunk

# Parameters that do not shape pretraining: fits that differ only in these
# share an entry. Every other parameter is in the key, so a new one makes
# fits miss rather than wrongly share. ``device`` and ``distributed`` are
# keyed by what they resolve to (device type, number of ranks),
# ``random_state`` by the seeds it gives; ``module`` is keyed on its own.
_NOT_PRETRAINING = frozenset(
    {
        *("n_clusters", "n_clusters_search", "alpha", "gamma", "max_iter"),
        *("update_interval", "tol", "batch_size", "learning_rate"),
        *("embedding_scale", "init", "n_init", "callbacks", "memory", "device"),
        *("distributed", "random_state", "module"),
    }
)

# Names of an entry's arrays: the weights under a prefix, as in model files.
_WEIGHTS = "weights/"
_GENERATORS = "generators"
_META = "meta"

# ---------------------------------------------------------------------------
# The key


def memory_location(memory):
    """The folder ``memory`` names (a path, a ``joblib.Memory``'s location), or None."""
    if memory is None or isinstance(memory, str):
        return memory
    if not hasattr(memory, "location"):
        raise ValueError(
            "memory must be a path, a joblib.Memory or None; got an object "
            f"of type {type(memory).__name__} without a location."
        )
    location = memory.location
    return None if location is None else os.fspath(location)


def _digest(chunks):
    digest = hashlib.blake2b(digest_size=16)
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def fingerprint(X):
    """Digest of the training rows (a tensor or a RowSource) as pretraining
    reads them: float32, scaled. Read once in chunks, so a memory map or a
    sparse matrix is never held whole, and a dense array and its sparse or
    memory-mapped copy share an entry."""
    step = rows_per_chunk(X.shape[1])
    rows = (X[start : start + step] for start in range(0, len(X), step))
    return _digest(
        [
            repr(tuple(X.shape)).encode(),
            *(np.ascontiguousarray(chunk.cpu().numpy()) for chunk in rows),
        ]
    )


def _weights_digest(module):
    """Digest of a module's tensors, their names, dtypes and shapes."""
    parts = []
    for name, tensor in module.state_dict().items():
        array = tensor.detach().cpu().numpy()
        parts += [f"{name}:{array.dtype}:{array.shape}".encode(), array]
    return _digest(parts)


def _plain(value):
    """``value`` as JSON data for the key: code by its qualified name, arrays
    and module instances by their digest."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        return [str(value.dtype), list(value.shape), _digest([value])]
    if inspect.isclass(value) or inspect.isroutine(value):
        return f"{value.__module__}.{value.__qualname__}"
    if isinstance(value, torch.nn.Module):
        return [_plain(type(value)), _weights_digest(value)]
    # A repr that holds an address never matches again: a miss, not a wrong hit.
    return repr(value)


# ---------------------------------------------------------------------------
# Entries


class PretrainMemory:
    """The cache entry of one fit's pretraining.

    Built by :meth:`open` before pretraining; :meth:`restore` loads a stored
    entry into the fit, or :meth:`store` keeps the one pretraining made.
    """

    def __init__(self, path, key, n_records):
        self.path, self.key, self.n_records = path, key, n_records

    @classmethod
    def open(cls, estimator, autoencoder, X, setup):
        """The fit's entry, or None when nothing is cached.

        Every rank takes part (the fingerprints are gathered), so every rank
        must call it, and it returns None on all of them or on none.
        """
        from . import __version__

        location = memory_location(estimator.memory)
        if location is None or estimator.random_state is None:
            return None
        params = estimator.get_params(deep=False)
        key = {
            "skdec": __version__,
            "torch": torch.__version__,
            "params": {
                name: _plain(value)
                for name, value in params.items()
                if name not in _NOT_PRETRAINING
            },
            "module": _plain(estimator.module),
            "network": [_plain(type(autoencoder)), _weights_digest(autoencoder)],
            "seeds": [
                setup.init_generator.initial_seed(),
                setup.generator.initial_seed(),
            ],
            "device": setup.device.type,
            "data": setup.comm.gather(fingerprint(X)),
        }
        key = json.dumps(key, sort_keys=True)
        name = hashlib.sha256(key.encode()).hexdigest()[:32]
        path = Path(location, "skdec", "pretrain", f"{name}.npz")
        return cls(path, key, len(setup.hooks.history))

    def restore(self, autoencoder, setup):
        """Load the stored entry into the fit; False (and nothing changed)
        where there is none to load."""
        comm = setup.comm
        entry = self._read(autoencoder, setup) if comm.is_main else None
        # Rank 0's answer for every rank: all load, or all pretrain.
        shared = comm.broadcast(None if entry is None else entry[1:])
        if shared is None:
            return False
        generators, records = shared
        if comm.is_main:
            autoencoder.load_state_dict(entry[0])
        comm.broadcast_module(autoencoder)
        setup.generator.set_state(torch.from_numpy(generators[comm.rank]))
        setup.hooks.history.extend(records)
        return True

    def store(self, autoencoder, setup):
        """Keep the pretrained ``autoencoder``, every rank's generator state
        and the pretraining records; a write that fails only warns."""
        comm = setup.comm
        generators = comm.gather(setup.generator.get_state().numpy())
        if not comm.is_main:
            return
        records = setup.hooks.history[self.n_records :]
        meta = json.dumps({"key": self.key, "records": records}, default=json_default)
        arrays = {
            _WEIGHTS + name: tensor.detach().cpu().numpy()
            for name, tensor in autoencoder.state_dict().items()
        }
        arrays[_GENERATORS] = np.stack(generators)
        arrays[_META] = np.frombuffer(meta.encode("utf-8"), dtype=np.uint8)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_archive(self.path, arrays)
        except OSError as exc:
            warnings.warn(
                f"memory: could not keep the pretrained autoencoder in "
                f"{self.path} ({exc}); the fit goes on without it.",
                UserWarning,
            )

    def _read(self, autoencoder, setup):
        """``(weights, generator states, records)`` of a valid entry, or None.

        An entry that cannot be read, or whose arrays do not fit this fit's
        network and generator, is ignored (and replaced after pretraining).
        """
        try:
            with np.load(self.path, allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
            meta = json.loads(arrays.pop(_META).tobytes().decode("utf-8"))
            if meta["key"] != self.key:
                return None  # another version's, or another key's
            generators = arrays.pop(_GENERATORS)
            records = list(meta["records"])
            weights = {
                name.removeprefix(_WEIGHTS): torch.from_numpy(array)
                for name, array in arrays.items()
            }
            expected = autoencoder.state_dict()
            valid = (
                weights.keys() == expected.keys()
                and all(
                    weights[name].shape == tensor.shape
                    and weights[name].dtype == tensor.dtype
                    for name, tensor in expected.items()
                )
                and generators.dtype == np.uint8
                and generators.shape
                == (setup.comm.world_size, len(setup.generator.get_state()))
                and all(isinstance(record, dict) for record in records)
            )
        except (*READ_ERRORS, AttributeError, TypeError):
            return None  # none yet (OSError), or unreadable
        return (weights, list(generators), records) if valid else None

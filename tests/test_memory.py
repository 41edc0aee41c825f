"""``memory=``: pretraining kept on disk and loaded by the fits that share it.

A fit that loads an entry must end exactly where the fit without memory
ends; an entry is shared only by fits whose pretraining is the same.
"""

import copy
import json
import warnings
import zipfile

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
import torch
import torch.distributed as dist
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError

import skdec
from skdec import DECClusterer, IDECClusterer
from skdec._data import RowSource
from skdec._memory import fingerprint

from .conftest import TINY, TINY_FIT, TinyAutoencoder


class CountPretraining:
    """Counts pretraining stages, on the class: ``clone`` copies callbacks."""

    n = 0

    def on_stage_begin(self, estimator, stage, **state):
        if stage == "pretrain":
            type(self).n += 1


@pytest.fixture
def count():
    CountPretraining.n = 0
    return CountPretraining


def _fit(estimator, X, *, callbacks=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.set_params(callbacks=callbacks).fit(X)


def _dec(cls=DECClusterer, n_clusters=3, **params):
    # A user's module takes none of the built-in network's parameters.
    tiny = TINY_FIT if "module" in params else TINY
    return cls(n_clusters, **{**tiny, "random_state": 0, **params})


def _entries(folder):
    return sorted((folder / "skdec" / "pretrain").glob("*.npz"))


def _read(entry):
    with np.load(entry, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def _key(entry):
    return json.loads(_read(entry)["meta"].tobytes())["key"]


def _without_seconds(history):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in history]


def _assert_same_fit(fit, reference, X):
    np.testing.assert_array_equal(fit.transform(X), reference.transform(X))
    np.testing.assert_array_equal(fit.labels_, reference.labels_)
    np.testing.assert_array_equal(fit.cluster_centers_, reference.cluster_centers_)
    assert fit.n_iter_ == reference.n_iter_
    assert _without_seconds(fit.history_) == _without_seconds(reference.history_)


def _pretraining(history):
    return [r for r in history if r["stage"].startswith("pretrain")]


# ---------------------------------------------------------------------------
# A hit is the fit without memory


@pytest.mark.parametrize("cls", [DECClusterer, IDECClusterer])
def test_a_hit_fits_what_a_fit_without_memory_fits(cls, blobs, tmp_path, count):
    X, _ = blobs
    reference = _fit(_dec(cls), X)
    first = _fit(_dec(cls, memory=str(tmp_path)), X, callbacks=[count()])
    second = _fit(_dec(cls, memory=str(tmp_path)), X, callbacks=[count()])
    assert count.n == 1
    assert len(_entries(tmp_path)) == 1
    _assert_same_fit(first, reference, X)
    _assert_same_fit(second, reference, X)
    # The records of the fit that wrote the entry, its seconds included.
    assert _pretraining(second.history_) == _pretraining(first.history_)


def test_clustering_parameters_share_one_pretraining(blobs, tmp_path, count):
    X, _ = blobs
    _fit(_dec(memory=str(tmp_path)), X, callbacks=[count()])
    other = dict(n_clusters=4, max_iter=10, tol=0.01, n_init=1, alpha=2.0)
    other.update(batch_size=32, learning_rate=0.05, embedding_scale=2.0, device="cpu")
    hit = _fit(_dec(memory=str(tmp_path), **other), X, callbacks=[count()])
    # IDEC pretrains as DEC does: it loads DEC's entry.
    idec = _fit(_dec(IDECClusterer, 4, memory=str(tmp_path)), X, callbacks=[count()])
    assert count.n == 1
    assert len(_entries(tmp_path)) == 1
    _assert_same_fit(hit, _fit(_dec(**other), X), X)
    _assert_same_fit(idec, _fit(_dec(IDECClusterer, 4), X), X)


@pytest.mark.parametrize(
    "change",
    [
        {"pretrain_epochs": 4},
        {"module__hidden_dims": (8,)},
        {"module__latent_dim": 3},
        {"pretrain_learning_rate": 0.01},
        {"pretrain_batch_size": 64},
        {"module__layerwise_dropout": 0.2},
        {"augment": (2, 3)},
        {"random_state": 1},
        {"module": TinyAutoencoder},
    ],
    ids=lambda change: next(iter(change)),
)
def test_what_shapes_pretraining_misses(change, blobs, tmp_path, count):
    X, _ = blobs
    _fit(_dec(memory=str(tmp_path)), X)
    changed = _fit(_dec(memory=str(tmp_path), **change), X, callbacks=[count()])
    assert count.n == 1
    assert len(_entries(tmp_path)) == 2
    _assert_same_fit(changed, _fit(_dec(**change), X), X)


def test_other_data_misses(blobs, tmp_path, count):
    X, _ = blobs
    _fit(_dec(memory=str(tmp_path)), X)
    for other in (X[1:], X * 0.5):
        _fit(_dec(memory=str(tmp_path)), other, callbacks=[count()])
    assert count.n == 2
    assert len(_entries(tmp_path)) == 3


def test_a_users_module_is_keyed_by_its_parameters_or_weights(blobs, tmp_path, count):
    X, _ = blobs
    params = dict(memory=str(tmp_path), module=TinyAutoencoder)
    for width in (8, 8, 12):
        _fit(_dec(**params, module__width=width), X, callbacks=[count()])
    assert count.n == 2
    # An instance by its weights: a copy hits, another initialisation misses.
    count.n = 0
    torch.manual_seed(0)
    network = TinyAutoencoder(X.shape[1])
    torch.manual_seed(1)
    other = TinyAutoencoder(X.shape[1])
    for module in (network, copy.deepcopy(network), other):
        _fit(_dec(memory=str(tmp_path), module=module), X, callbacks=[count()])
    assert count.n == 2


# ---------------------------------------------------------------------------
# What is never kept


def test_random_state_none_keeps_nothing(blobs, tmp_path, count):
    X, _ = blobs
    for _ in range(2):
        _fit(_dec(memory=str(tmp_path), random_state=None), X, callbacks=[count()])
    assert count.n == 2
    assert not any(tmp_path.iterdir())


def test_a_memory_without_location_keeps_nothing(blobs, tmp_path, count):
    X, _ = blobs
    _fit(_dec(memory=joblib.Memory(None)), X)
    _fit(_dec(memory=None), X)
    assert not any(tmp_path.iterdir())


def test_pretraining_a_callback_ended_is_not_kept(blobs, tmp_path):
    class EndPretraining:
        def on_record(self, estimator, record, **state):
            return record["stage"].startswith("pretrain")

    X, _ = blobs
    _fit(_dec(memory=str(tmp_path)), X, callbacks=[EndPretraining()])
    assert not _entries(tmp_path)


def test_a_folder_that_cannot_be_written_only_warns(blobs, tmp_path):
    X, _ = blobs
    (tmp_path / "file").write_text("")
    reference = _fit(_dec(), X)
    with pytest.warns(UserWarning, match="could not keep the pretrained"):
        fit = _fit(_dec(memory=str(tmp_path / "file")), X)
    _assert_same_fit(fit, reference, X)


# ---------------------------------------------------------------------------
# The parameter


def test_a_joblib_memory_and_its_clones_share_the_folder(blobs, tmp_path, count):
    X, _ = blobs
    memory = joblib.Memory(tmp_path, verbose=0)
    estimator = _dec(memory=memory)
    _fit(clone(estimator), X, callbacks=[count()])
    _fit(clone(estimator), X, callbacks=[count()])
    assert count.n == 1
    assert len(_entries(tmp_path)) == 1


def test_memory_is_validated():
    with pytest.raises(InvalidParameterError, match="memory"):
        _dec(memory=3).fit(np.zeros((10, 2)))


def test_a_saved_model_keeps_the_folder(blobs, tmp_path):
    X, _ = blobs
    dec = _fit(_dec(memory=joblib.Memory(tmp_path / "cache", verbose=0)), X)
    dec.save(tmp_path / "model.skdec")
    loaded = DECClusterer.load(tmp_path / "model.skdec")
    assert loaded.memory == str(tmp_path / "cache")


def test_the_command_line_takes_a_folder():
    from skdec._cli import build_parser

    args = build_parser().parse_args(
        ["fit", "X.csv", "-m", "m.skdec", "--n-clusters", "4", "--memory", "cache"]
    )
    assert args.param_memory == "cache"


# ---------------------------------------------------------------------------
# Search, containers


def test_grid_search_pretrains_once_per_training_set(blobs, tmp_path, count):
    X, _ = blobs
    grid = {"n_clusters": [2, 3, 4]}
    plain = GridSearchCV(_dec(), grid, cv=2)
    cached = GridSearchCV(_dec(memory=str(tmp_path), callbacks=[count()]), grid, cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain.fit(X)
        cached.fit(X)
    # Two training folds and the refit on all rows.
    assert count.n == 3
    assert len(_entries(tmp_path)) == 3
    np.testing.assert_array_equal(
        cached.cv_results_["mean_test_score"], plain.cv_results_["mean_test_score"]
    )
    assert cached.best_params_ == plain.best_params_


def test_sparse_and_memmap_inputs_hit(blobs, tmp_path, count):
    X, _ = blobs
    np.save(tmp_path / "X.npy", X)
    memmap = np.load(tmp_path / "X.npy", mmap_mode="r")
    folder = tmp_path / "cache"
    for data in (sp.csr_matrix(X), memmap):
        reference = _fit(_dec(), data)
        first = _fit(_dec(memory=str(folder)), data, callbacks=[count()])
        _assert_same_fit(first, reference, X)
    # The rows as pretraining reads them are the key, not their container.
    assert count.n == 1
    assert len(_entries(folder)) == 1


def test_the_fingerprint_reads_chunks(blobs, monkeypatch):
    X, _ = blobs
    whole = fingerprint(torch.from_numpy(X))
    monkeypatch.setattr("skdec._memory.rows_per_chunk", lambda n_features: 7)
    assert fingerprint(RowSource(sp.csr_matrix(X))) == whole
    assert fingerprint(RowSource(X, scale=2.0)) != whole


# ---------------------------------------------------------------------------
# Entries


def test_an_unreadable_entry_is_replaced(blobs, tmp_path, count):
    X, _ = blobs
    reference = _fit(_dec(memory=str(tmp_path)), X)
    (entry,) = _entries(tmp_path)
    for damage in (b"not an archive", entry.read_bytes()[:100]):
        entry.write_bytes(damage)
        fit = _fit(_dec(memory=str(tmp_path)), X, callbacks=[count()])
        _assert_same_fit(fit, reference, X)
    assert count.n == 2
    _fit(_dec(memory=str(tmp_path)), X, callbacks=[count()])
    assert count.n == 2  # rewritten whole


def test_another_versions_entry_is_ignored(blobs, tmp_path, count, monkeypatch):
    X, _ = blobs
    reference = _fit(_dec(memory=str(tmp_path)), X)
    monkeypatch.setattr(skdec, "__version__", "0.0.1")
    _fit(_dec(memory=str(tmp_path)), X, callbacks=[count()])
    assert count.n == 1
    assert len(_entries(tmp_path)) == 2
    # Another version's entry under this version's name is not loaded either.
    monkeypatch.undo()
    old, new = sorted(_entries(tmp_path), key=lambda path: "0.0.1" in _key(path))
    new.replace(old)
    fit = _fit(_dec(memory=str(tmp_path)), X, callbacks=[count()])
    assert count.n == 2
    _assert_same_fit(fit, reference, X)


def test_entries_hold_plain_arrays_only(blobs, tmp_path):
    X, _ = blobs
    _fit(_dec(memory=str(tmp_path)), X)
    (entry,) = _entries(tmp_path)
    with zipfile.ZipFile(entry) as archive:
        for name in archive.namelist():
            assert name.endswith(".npy")
            with archive.open(name) as member:
                array = np.lib.format.read_array(member, allow_pickle=False)
            assert not array.dtype.hasobject, name
    meta = json.loads(_read(entry)["meta"].tobytes())
    assert set(meta) == {"key", "records"}


@pytest.mark.skipif(
    not dist.is_available() or not dist.is_gloo_available(),
    reason="torch.distributed with gloo is not available",
)
def test_data_parallel_ranks_load_one_entry_from_rank_0(tmp_path):
    from .test_distributed import _launch

    results, codes, outputs, _ = _launch("memory", tmp_path)
    assert codes == [0, 0], outputs
    for result in results:
        assert "crash" not in result, result["crash"]
        assert result["pretrained"] == 0
        assert result["same_labels"] and result["same_embedding"]
        assert result["same_history"]
    assert [result["entries"] for result in results] == [1, 0]

"""Saving and loading: exact round trips, refused files, atomic writes, pickle."""

import copy
import inspect
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import textwrap
import zipfile
from numbers import Real
from pathlib import Path

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

import skdec._base
from skdec import DECClusterer, IDECClusterer, IICClusterer
from skdec._persist import FORMAT_VERSION, load_estimator

from .conftest import TINY, TINY_IIC

# ---------------------------------------------------------------------------
# Fixtures and helpers


def _data(n_samples=90, n_features=6, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.random((3, n_features))
    X = centers[rng.integers(3, size=n_samples)]
    X = X + 0.05 * rng.standard_normal(X.shape)
    return X.astype(np.float32)


@pytest.fixture(scope="module")
def X():
    return _data()


@pytest.fixture(scope="module")
def fitted(X):
    return DECClusterer(3, **TINY, random_state=0).fit(X)


@pytest.fixture(scope="module")
def saved(fitted, tmp_path_factory):
    path = tmp_path_factory.mktemp("saved") / "model.skdec"
    fitted.save(path)
    return path


@pytest.fixture
def copy_of_saved(saved, tmp_path):
    path = tmp_path / "model.skdec"
    path.write_bytes(saved.read_bytes())
    return path


class Payload:
    """Unpickling this object creates ``marker``: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def _read_raw(path):
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    metadata = json.loads(arrays.pop("__metadata__").tobytes())
    return arrays, metadata


def _write_raw(path, arrays, metadata):
    text = json.dumps(metadata).encode()
    with open(path, "wb") as file:
        np.savez(file, **arrays, __metadata__=np.frombuffer(text, dtype=np.uint8))


def _assert_predicts_identically(a, b, X):
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert a.score(X) == b.score(X)


# ---------------------------------------------------------------------------
# Round trips


def test_round_trip_is_exact(fitted, saved, X):
    loaded = DECClusterer.load(saved)

    check_is_fitted(loaded)
    _assert_predicts_identically(fitted, loaded, X)
    X_new = np.random.default_rng(1).random((50, X.shape[1])).astype(np.float32)
    _assert_predicts_identically(fitted, loaded, X_new)
    _assert_predicts_identically(fitted, loaded, X_new.astype(np.float64))
    assert loaded.get_params() == fitted.get_params()
    assert isinstance(loaded.module__hidden_dims, tuple)
    assert loaded.history_ == fitted.history_
    assert loaded.n_iter_ == fitted.n_iter_
    assert loaded.n_features_in_ == fitted.n_features_in_
    np.testing.assert_array_equal(loaded.labels_, fitted.labels_)
    assert loaded.labels_.dtype == fitted.labels_.dtype
    np.testing.assert_array_equal(loaded.cluster_centers_, fitted.cluster_centers_)
    assert not hasattr(loaded, "feature_names_in_")
    state, loaded_state = fitted.module_.state_dict(), loaded.module_.state_dict()
    assert state.keys() == loaded_state.keys()
    for key in state:
        assert torch.equal(state[key], loaded_state[key]), key
    assert all(p.device.type == "cpu" for p in loaded.module_.parameters())


def test_save_writes_exactly_the_given_path(fitted, tmp_path):
    path = tmp_path / "model"  # no suffix: np.savez would add ".npz" to a name
    assert fitted.save(str(path)) is fitted
    assert os.listdir(tmp_path) == ["model"]
    # One zip of .npy members and nothing else: no pickle inside.
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    assert all(name.endswith(".npy") for name in names)
    _, metadata = _read_raw(path)
    assert metadata["format"] == "skdec"
    assert metadata["format_version"] == FORMAT_VERSION
    assert metadata["class"] == "DECClusterer"


def test_saving_over_a_model_replaces_it(X, fitted, tmp_path):
    path = tmp_path / "model.skdec"
    other = DECClusterer(2, **TINY, random_state=1).fit(X)
    other.save(path)
    fitted.save(path)
    _assert_predicts_identically(fitted, DECClusterer.load(path), X)


def test_saved_file_gets_the_usual_permissions(fitted, tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    path = tmp_path / "model.skdec"
    fitted.save(path)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_save_unfitted_raises(tmp_path):
    with pytest.raises(NotFittedError):
        DECClusterer(**TINY).save(tmp_path / "model.skdec")
    assert os.listdir(tmp_path) == []


def test_dataframe_feature_names_survive(X, tmp_path):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(X, columns=[f"pixel_{i}" for i in range(X.shape[1])])
    est = DECClusterer(3, **TINY, random_state=0).fit(df)
    est.save(tmp_path / "model.skdec")
    loaded = DECClusterer.load(tmp_path / "model.skdec")

    np.testing.assert_array_equal(loaded.feature_names_in_, est.feature_names_in_)
    assert loaded.feature_names_in_.dtype == object
    np.testing.assert_array_equal(
        loaded.get_feature_names_out(), est.get_feature_names_out()
    )
    np.testing.assert_array_equal(loaded.predict(df), est.predict(df))
    with pytest.raises(ValueError, match="feature names"):
        loaded.predict(df.rename(columns={"pixel_0": "other"}))


def test_loaded_estimator_can_be_cloned_and_refitted(saved, X):
    loaded = DECClusterer.load(saved)
    refit = clone(loaded).fit(X)
    np.testing.assert_array_equal(refit.labels_, loaded.labels_)


def test_array_parameter_round_trips(X, tmp_path):
    est = DECClusterer(
        3, **{**TINY, "module__hidden_dims": np.array([16])}, random_state=0
    )
    est.fit(X).save(tmp_path / "model.skdec")
    loaded = DECClusterer.load(tmp_path / "model.skdec")
    assert isinstance(loaded.module__hidden_dims, np.ndarray)
    np.testing.assert_array_equal(loaded.module__hidden_dims, [16])


def test_candidates_round_trip(X, tmp_path):
    est = DECClusterer(range(2, 5), **TINY, random_state=0).fit(X)
    est.save(tmp_path / "model.skdec")
    loaded = DECClusterer.load(tmp_path / "model.skdec")
    assert loaded.n_clusters == (2, 3, 4)
    assert loaded.n_clusters_rule_ == est.n_clusters_rule_
    _assert_predicts_identically(est, loaded, X)
    _assert_predicts_identically(est, loaded, X)


def test_set_output_configuration_survives(X, tmp_path):
    pd = pytest.importorskip("pandas")
    est = DECClusterer(3, **TINY, random_state=0).set_output(transform="pandas")
    est.fit(X).save(tmp_path / "model.skdec")
    loaded = DECClusterer.load(tmp_path / "model.skdec")
    embedding = loaded.transform(X)
    assert isinstance(embedding, pd.DataFrame)
    np.testing.assert_array_equal(embedding.columns, est.transform(X).columns)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "estimator",
    [
        DECClusterer(3, **TINY, random_state=0),
        IDECClusterer(3, **TINY, gamma=0.3, random_state=0),
        IICClusterer(3, **{**TINY_IIC, "max_epochs": 2}, random_state=0),
    ],
    ids=lambda est: type(est).__name__,
)
def test_load_without_naming_the_class(estimator, X, tmp_path):
    est = clone(estimator).fit(X)
    est.save(tmp_path / "model.skdec")
    loaded = load_estimator(tmp_path / "model.skdec")
    assert type(loaded) is type(est)
    assert loaded.get_params() == est.get_params()
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    # A class named explicitly must still be the file's.
    other = IICClusterer if type(est) is not IICClusterer else DECClusterer
    with pytest.raises(ValueError, match=f"holds a {type(est).__name__} model"):
        load_estimator(tmp_path / "model.skdec", other)


class GammaDEC(DECClusterer):
    """A subclass with one more parameter and one more fitted value (as IDEC)."""

    _parameter_constraints = {
        **DECClusterer._parameter_constraints,
        "gamma": [Interval(Real, 0, None, closed="left")],
    }
    _saved_values = (*DECClusterer._saved_values, "gamma_used_")

    def __init__(self, n_clusters=8, *, gamma=0.1, **params):
        super().__init__(n_clusters, **params)
        self.gamma = gamma


# scikit-learn reads parameter names from the signature, which may not hold
# **params: spell out the parent's parameters plus gamma.
_PARENT = list(inspect.signature(DECClusterer.__init__).parameters.values())
GammaDEC.__init__.__signature__ = inspect.signature(DECClusterer.__init__).replace(
    parameters=[
        *_PARENT[:-1],
        inspect.Parameter("gamma", inspect.Parameter.KEYWORD_ONLY, default=0.1),
        _PARENT[-1],  # **kwargs: the module__ parameters
    ]
)


def test_subclass_round_trips_and_is_told_apart(X, tmp_path):
    est = GammaDEC(3, gamma=0.25, **TINY, random_state=0).fit(X)
    est.gamma_used_ = 0.25
    est.save(tmp_path / "model.skdec")

    loaded = GammaDEC.load(tmp_path / "model.skdec")
    assert type(loaded) is GammaDEC
    assert loaded.get_params() == est.get_params()
    assert loaded.gamma_used_ == 0.25
    _assert_predicts_identically(est, loaded, X)
    with pytest.raises(ValueError, match="GammaDEC model; load it with GammaDEC"):
        DECClusterer.load(tmp_path / "model.skdec")
    # Not one of skdec's estimators: it cannot be found by its name.
    with pytest.raises(ValueError, match="not one of skdec's estimators"):
        load_estimator(tmp_path / "model.skdec")


def test_random_state_instance_is_stored_as_none(X, tmp_path):
    est = DECClusterer(3, **TINY, random_state=np.random.RandomState(0)).fit(X)
    with pytest.warns(UserWarning, match="random_state is a RandomState"):
        est.save(tmp_path / "model.skdec")
    loaded = DECClusterer.load(tmp_path / "model.skdec")
    assert loaded.random_state is None
    _assert_predicts_identically(est, loaded, X)


def test_callable_parameter_is_refused(fitted, tmp_path):
    est = copy.deepcopy(fitted)
    est.set_params(device=lambda: "cpu")
    with pytest.raises(ValueError, match="device=.*callable") as error:
        est.save(tmp_path / "model.skdec")
    assert "pickle" not in str(error.value)
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------------------
# Files that must be refused without running anything


def _refusal(path, cls=DECClusterer):
    """The message that loading ``path`` fails with: never unpickling advice."""
    with pytest.raises(ValueError, match="not an skdec model file") as error:
        load_estimator(path, cls)
    message = str(error.value)
    assert "pickle" not in message.replace(os.fspath(path), "").lower()
    return message


def _zip_with_a_text_member(path):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "not a model")


@pytest.mark.parametrize(
    "write",
    [
        lambda path: path.write_text("just some text\n"),
        lambda path: path.write_bytes(b"\x93NUMPY" + b"\x00" * 20),
        lambda path: np.save(path, np.zeros((3, 2))),
        _zip_with_a_text_member,
    ],
    ids=["text", "broken-npy", "npy", "zip"],
)
@pytest.mark.parametrize("cls", [DECClusterer, None], ids=["DEC", "any"])
def test_file_that_is_not_a_model(tmp_path, write, cls):
    path = tmp_path / "model.npy"  # np.save adds ".npy" to other names
    write(path)
    assert f"{os.fspath(path)!r} is not an skdec model file" in _refusal(path, cls)


def test_crafted_pickle_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "code-ran"
    path = tmp_path / "model.skdec"
    path.write_bytes(pickle.dumps(Payload(marker)))

    _refusal(path)
    assert not marker.exists()
    # The payload is live: unpickling the same file does run it.
    with open(path, "rb") as file:
        pickle.load(file)  # noqa: S301
    assert marker.exists()


def test_joblib_file_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "code-ran"
    path = tmp_path / "model.joblib"
    joblib.dump(Payload(marker), path)
    _refusal(path)
    assert not marker.exists()


def test_npz_with_object_array_is_refused_without_running_it(saved, tmp_path):
    marker = tmp_path / "code-ran"
    path = tmp_path / "model.skdec"
    arrays, metadata = _read_raw(saved)
    evil = np.empty(1, dtype=object)
    evil[0] = Payload(marker)
    arrays["attr/labels_"] = evil
    _write_raw(path, arrays, metadata)

    assert "holds Python objects" in _refusal(path)
    assert not marker.exists()


def test_torch_save_file_is_refused_without_running_it(fitted, tmp_path):
    marker = tmp_path / "code-ran"
    path = tmp_path / "model.pt"
    torch.save({"state": fitted.module_.state_dict(), "x": Payload(marker)}, path)
    _refusal(path)
    assert not marker.exists()


def _truncate_half(data):
    return data[: len(data) // 2]


def _drop_tail(data):
    return data[:-10]


def _flip_payload_bytes(data):
    """Flip 8 bytes in the middle of the largest member's stored data, which
    the zip's CRC covers. (Bytes of a local header's extra field are not
    content: readers take the sizes from the central directory, so flipping
    them leaves the model intact.)"""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = max(archive.infolist(), key=lambda i: i.compress_size)
    offset = info.header_offset
    name_length, extra_length = struct.unpack("<HH", data[offset + 26 : offset + 30])
    start = offset + 30 + name_length + extra_length + info.compress_size // 2
    flipped = bytes(b ^ 0xFF for b in data[start : start + 8])
    return data[:start] + flipped + data[start + 8 :]


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda data: b"",
        lambda data: np.random.default_rng(0).bytes(4096),
        lambda data: b"PK\x03\x04" + np.random.default_rng(1).bytes(500),
        _truncate_half,
        _drop_tail,
        _flip_payload_bytes,
    ],
    ids=["empty", "random", "zip-magic", "truncated", "no-tail", "bit-flips"],
)
def test_corrupted_file_is_refused(copy_of_saved, corrupt):
    copy_of_saved.write_bytes(corrupt(copy_of_saved.read_bytes()))
    with pytest.raises(ValueError, match="not an skdec model file|corrupted") as error:
        DECClusterer.load(copy_of_saved)
    message = str(error.value).replace(os.fspath(copy_of_saved), "")
    assert "pickle" not in message.lower()


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        DECClusterer.load(tmp_path / "nothing-here")


def _reshape_weight(arrays, metadata):
    key = "module/autoencoder.encoder_layers.0.weight"
    arrays[key] = np.zeros((3, 3), dtype=np.float32)


def _drop_weight(arrays, metadata):
    del arrays["module/centroids"]


def _extra_weight(arrays, metadata):
    arrays["module/extra.weight"] = np.zeros(2, dtype=np.float32)


def _float64_weight(arrays, metadata):
    arrays["module/centroids"] = arrays["module/centroids"].astype(np.float64)


def _other_class(arrays, metadata):
    metadata["class"] = "IDECClusterer"


def _future_version(arrays, metadata):
    metadata["format_version"] = FORMAT_VERSION + 1


def _past_version(arrays, metadata):
    metadata["format_version"] = FORMAT_VERSION - 1


def _unknown_network(arrays, metadata):
    metadata["network"] = "subprocess.Popen"


def _other_format(arrays, metadata):
    metadata["format"] = "something-else"


def _bad_parameter(arrays, metadata):
    metadata["params"]["n_clusters"] = -1


def _non_string_names(arrays, metadata):
    metadata["tuple_params"] = [["module__hidden_dims"]]


def _unknown_parameter(arrays, metadata):
    metadata["params"]["gamma"] = 0.1


def _wider_network(arrays, metadata):
    metadata["module_config"]["dims"][1] += 1


def _broken_module_config(arrays, metadata):
    del metadata["module_config"]["dims"]


def _drop_fitted_array(arrays, metadata):
    del arrays["attr/labels_"]


def _drop_fitted_value(arrays, metadata):
    del metadata["values"]["history_"]


def _drop_private_value(arrays, metadata):
    del metadata["values"]["_max_abs_input_"]


def _drop_listed_array(arrays, metadata):
    del arrays["attr/n_clusters_votes_"]
    metadata["array_names"].remove("n_clusters_votes_")


def _drop_output_config(arrays, metadata):
    del metadata["output_config"]


def _string_fitted_array(arrays, metadata):
    arrays["attr/labels_"] = arrays["attr/labels_"].astype(str)


def _wrong_feature_names(arrays, metadata):
    arrays["feature_names_in_"] = np.array(["a", "b"])


def _bad_output_config(arrays, metadata):
    metadata["output_config"] = {"transform": 3}


TAMPERINGS = [
    (_reshape_weight, r"encoder_layers\.0\.weight' has shape \(3, 3\)"),
    (_drop_weight, "missing the weight 'centroids'"),
    (_extra_weight, "unexpected weights.*extra.weight"),
    (_float64_weight, "'centroids' has dtype float64"),
    (_other_class, "IDECClusterer model; load it with IDECClusterer.load"),
    (_future_version, "upgrade skdec"),
    (_past_version, "development version.*fit the model again"),
    (_unknown_network, "names the network 'subprocess.Popen', which is not one of"),
    (_other_format, "not an skdec model file"),
    (_bad_parameter, "invalid parameter: The 'n_clusters' parameter"),
    (_non_string_names, "'tuple_params' must list strings"),
    (_unknown_parameter, r"parameters \['gamma'\]"),
    (_wider_network, "has shape"),
    (_broken_module_config, "cannot rebuild the network"),
    (_drop_fitted_array, "labels_"),
    (_drop_fitted_value, "history_"),
    (_drop_private_value, "_max_abs_input_"),
    (_drop_listed_array, "fitted arrays"),
    (_drop_output_config, "missing 'output_config'"),
    (_string_fitted_array, "non-numeric"),
    (_wrong_feature_names, "feature_names_in_"),
    (_bad_output_config, "invalid 'output_config'"),
]


@pytest.mark.parametrize(
    ("tamper", "message"),
    TAMPERINGS,
    ids=[tamper.__name__.strip("_") for tamper, _ in TAMPERINGS],
)
def test_tampered_file_is_refused(saved, tmp_path, tamper, message):
    path = tmp_path / "model.skdec"
    arrays, metadata = _read_raw(saved)
    tamper(arrays, metadata)
    _write_raw(path, arrays, metadata)
    with pytest.raises(ValueError, match=message):
        DECClusterer.load(path)


@pytest.mark.parametrize(
    "metadata",
    [None, np.frombuffer(b"\xff{not json", dtype=np.uint8), np.zeros(3)],
    ids=["missing", "not-json", "not-bytes"],
)
def test_unreadable_metadata_is_refused(saved, tmp_path, metadata):
    arrays, _ = _read_raw(saved)
    if metadata is not None:
        arrays["__metadata__"] = metadata
    path = tmp_path / "model.skdec"
    with open(path, "wb") as file:
        np.savez(file, **arrays)
    with pytest.raises(ValueError, match="not an skdec model file"):
        DECClusterer.load(path)


@pytest.mark.parametrize(
    "name, message",
    [(None, "invalid or missing 'class'"), ("Pipeline", "not one of skdec's")],
)
def test_unknown_class_name_is_refused(saved, tmp_path, name, message):
    arrays, metadata = _read_raw(saved)
    metadata["class"] = name
    _write_raw(tmp_path / "model.skdec", arrays, metadata)
    with pytest.raises(ValueError, match=message):
        load_estimator(tmp_path / "model.skdec")


def test_untampered_rewrite_still_loads(saved, tmp_path, X, fitted):
    # Guards the tampering tests: the rewrite helpers alone break nothing.
    path = tmp_path / "model.skdec"
    _write_raw(path, *_read_raw(saved))
    _assert_predicts_identically(fitted, DECClusterer.load(path), X)


# ---------------------------------------------------------------------------
# Atomic save


def _failing_replace(src, dst):
    raise OSError("disk full (simulated)")


def _interrupted_savez(file, **arrays):
    file.write(b"PK\x03\x04 half-written archive")
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("target", "replacement", "error"),
    [
        ("os.replace", _failing_replace, OSError),
        ("numpy.savez", _interrupted_savez, KeyboardInterrupt),
    ],
)
def test_failed_save_keeps_the_previous_file(
    fitted, X, tmp_path, monkeypatch, target, replacement, error
):
    path = tmp_path / "model.skdec"
    fitted.save(path)
    good = path.read_bytes()
    other = DECClusterer(2, **TINY, random_state=1).fit(X)

    monkeypatch.setattr(target, replacement)
    with pytest.raises(error):
        other.save(path)
    monkeypatch.undo()

    assert os.listdir(tmp_path) == ["model.skdec"]  # no temporary file left
    assert path.read_bytes() == good
    _assert_predicts_identically(fitted, DECClusterer.load(path), X)


# ---------------------------------------------------------------------------
# Pickle, joblib and models trained on a GPU


def test_pickle_round_trip(fitted, X):
    loaded = pickle.loads(pickle.dumps(fitted))
    _assert_predicts_identically(fitted, loaded, X)


def test_joblib_round_trip(fitted, X, tmp_path):
    joblib.dump(fitted, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    _assert_predicts_identically(fitted, loaded, X)


def test_pickling_moves_an_accelerator_module_to_the_cpu(fitted, monkeypatch):
    # Without a GPU this only checks the path taken for one: __getstate__
    # pickles a CPU copy and leaves the estimator and its module alone.
    est = copy.deepcopy(fitted)
    module = est.module_
    monkeypatch.setattr(skdec._base, "_module_device", lambda _: torch.device("cuda"))
    state = est.__getstate__()
    assert state["module_"] is not module
    assert all(p.device.type == "cpu" for p in state["module_"].parameters())
    assert est.module_ is module


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_trained_model_loads_on_a_cpu_only_process(X, tmp_path):
    est = DECClusterer(3, **TINY, device="cuda", random_state=0).fit(X)
    est.save(tmp_path / "model.skdec")
    joblib.dump(est, tmp_path / "model.joblib")
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "proba.npy", est.predict_proba(X))
    script = textwrap.dedent(
        """
        import sys, joblib, numpy as np, torch
        from skdec import DECClusterer
        assert not torch.cuda.is_available()
        folder = sys.argv[1]
        X = np.load(folder + "/X.npy")
        expected = np.load(folder + "/proba.npy")
        for est in (DECClusterer.load(folder + "/model.skdec"),
                    joblib.load(folder + "/model.joblib")):
            assert next(est.module_.parameters()).device.type == "cpu"
            np.testing.assert_allclose(est.predict_proba(X), expected, atol=1e-4)
        """
    )
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], env=env, check=True)

"""Callbacks: what they see of every training loop, and how they step in."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from skdec import DECClusterer, IDECClusterer, IICClusterer
from skdec.callbacks import Callback
from skdec.metrics import cluster_accuracy

from .conftest import TINY, TINY_IIC

DEC_LIKE = [DECClusterer, IDECClusterer]


class Recorder(Callback):
    """Everything a callback is told, in order."""

    def __init__(self, y=None):
        self.y = y
        self.events = []
        self.records = []
        self.labels = []
        self.accuracy = []

    def on_fit_begin(self, estimator, X, **state):
        self.events.append(("fit_begin", len(X)))
        self.fit_begin_state = state

    def on_stage_begin(self, estimator, stage, **state):
        self.events.append(("stage_begin", stage))

    def on_record(self, estimator, record, **state):
        self.events.append(("record", record["stage"]))
        self.records.append(record)
        if record["stage"] == "clustering":
            self.labels.append(state["labels"])
            if self.y is not None:
                self.accuracy.append(cluster_accuracy(self.y, state["labels"]))

    def on_stage_end(self, estimator, stage, **state):
        self.events.append(("stage_end", stage))

    def on_fit_end(self, estimator):
        self.events.append(("fit_end", len(estimator.labels_)))


class StopAt:
    """Ends the stage at the first record of ``stage`` (a plain object)."""

    def __init__(self, stage):
        self.stage = stage

    def on_record(self, estimator, record, **state):
        return record["stage"].startswith(self.stage)


@pytest.fixture
def data(blobs):
    return blobs


@pytest.mark.parametrize("cls", DEC_LIKE)
def test_a_callback_sees_every_record_and_the_labels_at_each_refresh(cls, data):
    X, y = data
    recorder = Recorder(y)
    est = cls(3, **TINY, tol=0.0, random_state=0, callbacks=[recorder])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X)
    assert recorder.records == est.history_
    assert all(a is b for a, b in zip(recorder.records, est.history_, strict=True))
    refreshes = [r for r in est.history_ if r["stage"] == "clustering"]
    assert len(recorder.labels) == len(refreshes) > 1
    assert all(labels.shape == (len(X),) for labels in recorder.labels)
    assert all(isinstance(labels, np.ndarray) for labels in recorder.labels)
    # The last refresh comes after the last step, so it saw the final labels.
    np.testing.assert_array_equal(recorder.labels[-1], est.labels_)
    assert recorder.accuracy[-1] == cluster_accuracy(y, est.labels_)
    assert recorder.events[0] == ("fit_begin", len(X))
    assert recorder.fit_begin_state == {"input_scale": 1.0}
    assert recorder.events[-1] == ("fit_end", len(X))
    stages = [e[1] for e in recorder.events if e[0] in ("stage_begin", "stage_end")]
    assert stages == ["pretrain", "pretrain", "clustering", "clustering"]


@pytest.mark.parametrize("cls", DEC_LIKE)
def test_a_callback_ends_the_fit_at_the_first_refresh(cls, data):
    X, _ = data
    first = Recorder()
    est = cls(3, **TINY, random_state=0, callbacks=[first, StopAt("clustering")])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # it counts as converged
        est.fit(X)
    assert est.n_iter_ == 0
    assert [r["stage"] for r in est.history_].count("clustering") == 1
    np.testing.assert_array_equal(first.labels[0], est.labels_)
    # Without the callback the stage runs on.
    plain = clone(est).set_params(callbacks=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert plain.fit(X).n_iter_ > 0


def test_a_callback_ends_pretraining_early(data):
    X, _ = data
    est = DECClusterer(
        3,
        **{**TINY, "pretrain_epochs": 50},
        random_state=0,
        callbacks=[StopAt("pretrain")],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X)
    stages = [r["stage"] for r in est.history_]
    assert stages.count("pretrain_end_to_end") == 1
    assert stages[1] == "init" and "clustering" in stages


def test_layerwise_pretraining_stops_at_once(data):
    X, _ = data
    est = DECClusterer(
        3,
        **{**TINY, "module__layerwise_dropout": 0.2, "module__hidden_dims": (8, 4)},
        random_state=0,
        callbacks=[StopAt("pretrain")],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X)
    stages = [r["stage"] for r in est.history_]
    assert stages[:2] == ["pretrain_layer_0", "init"]


class PretrainCache:
    """Saves the pretrained weights, generator state and records, and skips
    pretraining when it has them: the pattern of a model cache."""

    def __init__(self):
        self.saved = None

    def on_stage_begin(self, estimator, stage, module, generator, history):
        if stage != "pretrain" or self.saved is None:
            return None
        state, generator_state, records = self.saved
        module.load_state_dict(state)
        generator.set_state(generator_state)
        history.extend(records)
        return True

    def on_stage_end(self, estimator, stage, module, generator, history):
        if stage == "pretrain" and self.saved is None:
            state = {k: v.clone() for k, v in module.state_dict().items()}
            records = [r for r in history if r["stage"].startswith("pretrain")]
            self.saved = (state, generator.get_state(), records)


def test_a_callback_can_skip_pretraining_with_cached_weights(data):
    X, _ = data
    cache = PretrainCache()
    params = dict(**TINY, random_state=0, callbacks=[cache])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        first = DECClusterer(3, **params).fit(X)
        assert cache.saved is not None
        second = DECClusterer(3, **params).fit(X)
    np.testing.assert_array_equal(first.labels_, second.labels_)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    assert first.history_[:3] == second.history_[:3]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_iic_callbacks_see_every_pass_and_can_stop(data):
    X, _ = data
    recorder = Recorder()
    params = {**TINY_IIC, "max_epochs": 4}
    est = IICClusterer(3, **params, random_state=0, callbacks=[recorder]).fit(X)
    assert recorder.records == est.history_
    assert [r["stage"] for r in est.history_] == [
        "overcluster",
        "main",
    ] * 4 + ["head_selection"]
    assert est.n_epochs_ == 4
    assert est.n_iter_ == 4 * 2 * int(np.ceil(len(X) / params["batch_size"]))
    stopped = IICClusterer(3, **params, random_state=0, callbacks=[StopAt("main")]).fit(
        X
    )
    assert [r["stage"] for r in stopped.history_] == [
        "overcluster",
        "main",
        "head_selection",
    ]
    assert stopped.n_epochs_ == 1


def test_callbacks_are_parameters_that_clone_copies(data):
    recorder = Recorder()
    est = DECClusterer(3, callbacks=[recorder])
    assert est.get_params()["callbacks"] == [recorder]
    copied = clone(est).get_params()["callbacks"]
    assert len(copied) == 1 and copied[0] is not recorder
    assert isinstance(copied[0], Recorder)


def test_callbacks_must_be_a_list():
    with pytest.raises(ValueError, match="callbacks"):
        DECClusterer(3, callbacks=Recorder()).fit(np.zeros((10, 2)))


@pytest.mark.parametrize("cls", [*DEC_LIKE, IICClusterer])
def test_fit_begin_sees_the_unscaled_rows_and_the_input_scale(cls, data):
    class FitBegin:
        def on_fit_begin(self, estimator, X, *, input_scale):
            self.X, self.input_scale = X, input_scale

    X = data[0] * 1e-3  # tiny entries: the fit rescales the rows
    seen = FitBegin()
    short = {**TINY_IIC, "max_epochs": 1} if cls is IICClusterer else TINY
    est = cls(3, **short, random_state=0, callbacks=[seen])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a short fit: not converged, maybe collapsed
        est.fit(X)
    np.testing.assert_array_equal(seen.X, X)
    assert seen.input_scale == est._input_scale_
    assert seen.input_scale == pytest.approx(1 / np.sqrt(np.mean(X**2)), rel=1e-5)


# ---------------------------------------------------------------------------
# Callbacks that would never be called are refused before any training


class Misspelt(Callback):
    def on_recrod(self, estimator, record, **state):
        pass


class NotCallable:
    on_record = True


def _function(estimator, record, **state):
    pass


@pytest.mark.parametrize(
    "callback, error, message",
    [
        (None, TypeError, r"callbacks\[1\] \(None\) is not a callback"),
        ("progress", TypeError, r"callbacks\[1\] \('progress'\) is not a callback"),
        (3, TypeError, r"callbacks\[1\] \(3\) is not a callback"),
        (
            _function,
            TypeError,
            r"\(the function _function\) is not a callback.*make it a method",
        ),
        (lambda *args: None, TypeError, r"\(the function <lambda>\) is not a callback"),
        (object(), TypeError, r"\(an instance of object\) is not a callback"),
        (
            Recorder,
            TypeError,
            r"\(the class Recorder\): pass an instance, Recorder\(\), not",
        ),
        (
            Misspelt(),
            ValueError,
            r"\(an instance of Misspelt\) defines on_recrod, which",
        ),
        (
            NotCallable(),
            TypeError,
            r"of NotCallable\): on_record must be a method, got True",
        ),
    ],
)
def test_a_callback_that_would_never_be_called_is_refused(
    callback, error, message, data
):
    recorder = Recorder()
    est = DECClusterer(3, **TINY, random_state=0, callbacks=[recorder, callback])
    with pytest.raises(error, match=message) as raised:
        est.fit(data[0])
    if "is not a callback" in message:
        five = "on_fit_begin, on_stage_begin, on_record, on_stage_end, on_fit_end"
        assert f"one or more of the methods {five}" in str(raised.value)
    # Refused before on_fit_begin, so before any training.
    assert recorder.events == []
    assert not [name for name in vars(est) if name.endswith("_")]


def test_a_misspelt_method_is_named_with_the_five_methods(data):
    class Typo:
        def on_fit_end(self, estimator):
            pass

        def on_epoch_end(self, estimator, **state):  # skorch's name, not skdec's
            pass

    with pytest.raises(ValueError) as raised:
        DECClusterer(3, **TINY, callbacks=[Typo()]).fit(data[0])
    message = str(raised.value)
    assert message.startswith(
        "callbacks[0] (an instance of Typo) defines on_epoch_end,"
    )
    assert (
        "must be among on_fit_begin, on_stage_begin, on_record, on_stage_end, "
        "on_fit_end" in message
    )


def test_the_callbacks_the_tests_use_are_accepted():
    from skdec._distributed import LocalComm
    from skdec._hooks import Hooks

    callbacks = [Recorder(), StopAt("main"), PretrainCache(), Callback()]
    assert Hooks(None, callbacks, LocalComm()).callbacks == callbacks
    assert Hooks(None, None, LocalComm()).callbacks == []
    with pytest.raises(TypeError, match="list of callback objects or None"):
        Hooks(None, Recorder(), LocalComm())


def test_saving_drops_the_callbacks(data, tmp_path):
    X, _ = data
    est = DECClusterer(3, **TINY, random_state=0, callbacks=[Recorder()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X)
    est.save(tmp_path / "model.skdec")
    loaded = DECClusterer.load(tmp_path / "model.skdec")
    assert loaded.callbacks is None
    np.testing.assert_array_equal(loaded.predict(X), est.labels_)

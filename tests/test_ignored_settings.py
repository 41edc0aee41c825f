"""No setting is ignored silently: a combination that would leave a parameter
unused raises before any training, or warns where a grid search may set it
on purpose (an ablation next to the setting that ignores it)."""

import warnings

import numpy as np
import pytest
import torch

import skdec._base
from skdec import DECClusterer, IDECClusterer, IICClusterer
from skdec.callbacks import Callback
from skdec.networks import ConvAutoencoder, StackedAutoencoder

from .conftest import TINY, TINY_FIT, TINY_IIC


def _images(n_samples=60):
    """Rows that are 2x3 images."""
    return np.random.default_rng(0).random((n_samples, 6)).astype(np.float32)


@pytest.fixture
def no_training(monkeypatch):
    def started(*args, **kwargs):
        raise AssertionError("training started before the settings were checked")

    monkeypatch.setattr(skdec._base, "to_training_tensor", started)


class Stopped(Exception):
    pass


class StopAtFitBegin(Callback):
    """Ends a fit once its settings are checked: on_fit_begin comes after."""

    def on_fit_begin(self, estimator, X, **state):
        raise Stopped


REFUSED = [
    (
        "augment with layer-wise pretraining",
        DECClusterer,
        {"augment": (2, 3), "module__layerwise_dropout": 0.2},
        ValueError,
        "augment trains on transformed images, but layer-wise pretraining",
    ),
    (
        "module__ parameters with a module instance",
        DECClusterer,
        {"module": StackedAutoencoder(6), "module__hidden_dims": (4,)},
        ValueError,
        "module__hidden_dims would be ignored.*instance of StackedAutoencoder",
    ),
    (
        "a module__ parameter the default network does not take",
        DECClusterer,
        {"module__image_shape": (2, 3)},
        TypeError,
        r"StackedAutoencoder\(n_features=6, image_shape=\(2, 3\)\)",
    ),
    (
        "conv_channels without the convolutional network",
        IDECClusterer,
        {"module__conv_channels": (8,)},
        TypeError,
        "unexpected keyword argument 'conv_channels'",
    ),
    (
        "n_clusters_search with an int n_clusters",
        DECClusterer,
        {"n_clusters_search": "silhouette"},
        ValueError,
        "n_clusters_search='silhouette' chooses among candidates, but n_clusters",
    ),
    (
        "another start than k-means in a search",
        DECClusterer,
        {"n_clusters": range(2, 5), "init": "spectral"},
        ValueError,
        "init='spectral' places the start for an int n_clusters",
    ),
    (
        "centroids in a search",
        IDECClusterer,
        {"n_clusters": "auto", "init": np.zeros((3, 2)), "n_init": 20},
        ValueError,
        "init given as centroids needs an int n_clusters",
    ),
    (
        "augment's shape against the network's",
        DECClusterer,
        {
            "module": ConvAutoencoder,
            "module__image_shape": (2, 3),
            "module__conv_channels": (4,),
            "augment": (3, 2),
        },
        ValueError,
        r"augment=\(3, 2\) and the network's image_shape=\(2, 3\)",
    ),
    (
        "noise_std with a callable perturbation",
        IICClusterer,
        {"perturbation": lambda x, generator: x, "noise_std": 0.3},
        ValueError,
        "noise_std set the default perturbation, but perturbation is your callable",
    ),
    (
        "conv_channels without image_shape (IIC)",
        IICClusterer,
        {"module__conv_channels": (8,)},
        ValueError,
        "conv_channels=.8,. are the widths of the convolutions.*image_shape",
    ),
]


@pytest.mark.parametrize(
    ("cls", "params", "error", "message"),
    [case[1:] for case in REFUSED],
    ids=[case[0] for case in REFUSED],
)
@pytest.mark.usefixtures("no_training")
def test_settings_that_would_be_ignored_are_refused(cls, params, error, message):
    # Without network parameters: each case gives its own.
    tiny = TINY_IIC if cls is IICClusterer else TINY_FIT
    est = cls(**{"n_clusters": 3, **tiny, "random_state": 0, **params})
    with pytest.raises(error, match=message):
        est.fit(_images())
    assert not hasattr(est, "n_features_in_")


WARNED = [
    (
        "pretraining settings without pretraining",
        DECClusterer,
        {
            "pretrain_epochs": 0,
            "pretrain_batch_size": 32,
            "pretrain_learning_rate": 0.1,
            "module__layerwise_dropout": 0.2,
        },
        "pretrain_batch_size, pretrain_optimizer, pretrain_learning_rate, "
        "module__layerwise_dropout not used: pretrain_epochs=0 skips pretraining",
    ),
    (
        "memory without pretraining",
        IDECClusterer,
        {"pretrain_epochs": 0, "pretrain_optimizer": "auto", "memory": "unused"},
        "memory not used: pretrain_epochs=0 skips pretraining",
    ),
    (
        "memory with random_state=None",
        DECClusterer,
        {"memory": "unused", "random_state": None},
        "memory not used: random_state=None draws a new result every fit",
    ),
    (
        "clustering-stage settings with max_iter=0",
        IDECClusterer,
        {"max_iter": 0, "tol": 0.01, "learning_rate": 0.5, "gamma": 0.2},
        "update_interval, tol, learning_rate, gamma not used: max_iter=0 stops",
    ),
    (
        "n_init with the manifold start",
        DECClusterer,
        {"init": "manifold"},
        "n_init not used: init='manifold' runs no k-means restarts",
    ),
    (
        "n_init with given centroids",
        DECClusterer,
        {"init": np.zeros((3, 10))},
        "n_init not used: init=centroids runs no k-means restarts",
    ),
    (
        "IIC's training settings with max_epochs=0",
        IICClusterer,
        {"max_epochs": 0, "learning_rate": 0.1},
        "learning_rate, batch_size not used: max_epochs=0 trains nothing",
    ),
]


@pytest.mark.parametrize(
    ("cls", "params", "message"),
    [case[1:] for case in WARNED],
    ids=[case[0] for case in WARNED],
)
def test_settings_a_grid_may_set_on_purpose_are_warned_about(cls, params, message):
    # The warning comes before any training; what follows does not matter.
    # Without network parameters: each case gives its own.
    tiny = TINY_IIC if cls is IICClusterer else TINY_FIT
    est = cls(
        **{"n_clusters": 3, **tiny, "random_state": 0, **params},
        callbacks=[StopAtFitBegin()],
    )
    with pytest.warns(UserWarning, match=message), pytest.raises(Stopped):
        est.fit(_images())


@pytest.mark.parametrize(
    "cls, params",
    [
        (DECClusterer, {}),
        (DECClusterer, {"n_clusters": range(2, 5), "n_clusters_search": "stability"}),
        (DECClusterer, {"pretrain_epochs": 0, "pretrain_optimizer": "auto"}),
        (DECClusterer, {"module__layerwise_dropout": 0.2}),
        (DECClusterer, {"augment": (2, 3)}),
        (IDECClusterer, {"memory": "unused-folder-not-written", "max_iter": 0}),
        (IICClusterer, {"module__image_shape": (2, 3)}),
        (IICClusterer, {"perturbation": lambda x, generator: x}),
    ],
)
def test_consistent_settings_pass_quietly(cls, params):
    # Without network parameters: each case gives its own.
    tiny = TINY_IIC if cls is IICClusterer else TINY_FIT
    params = {"n_clusters": 3, **tiny, "random_state": 0, **params}
    params["callbacks"] = [StopAtFitBegin()]
    if params.get("max_iter") == 0:
        params["update_interval"] = 30
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(Stopped):
            cls(**params).fit(_images())


def test_layerwise_pretraining_is_the_networks_setting(blobs):
    # One switch per choice: the network says how it is pretrained.
    X, _ = blobs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dec = DECClusterer(
            3, **{**TINY, "module__layerwise_dropout": 0.1}, random_state=0
        ).fit(X)
    stages = {r["stage"] for r in dec.history_}
    assert {"pretrain_layer_0", "pretrain_layer_1", "pretrain_finetune"} <= stages
    assert dec.module_.autoencoder.layerwise_dropout == 0.1
    assert torch.is_tensor(dec.module_.centroids)

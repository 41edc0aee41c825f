"""Image-aware DEC and IDEC: the convolutional autoencoder and augmentation."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from skdec import DECClusterer, IDECClusterer
from skdec._distributed import LocalComm
from skdec._hooks import Hooks
from skdec._nn import DECModule
from skdec._train import pretrain, train_clustering
from skdec.networks import ConvAutoencoder

# A small convolutional network: a fit on 300 digits takes about a second.
TINY_CONV = dict(
    module=ConvAutoencoder,
    module__image_shape=(8, 8),
    module__conv_channels=(4, 8),
    module__latent_dim=4,
    pretrain_optimizer="adam",
    pretrain_epochs=3,
    max_iter=20,
    update_interval=5,
    n_init=2,
)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X[:300] / 16).astype(np.float32), y[:300]


def _fit(estimator_class, X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator_class(
            **{**TINY_CONV, "n_clusters": 10, "random_state": 0, **params}
        ).fit(X)


@pytest.mark.parametrize("shape", [(8, 8), (28, 28), (1, 28, 28), (3, 9, 7), (2, 1, 1)])
def test_conv_autoencoder_reconstructs_the_input_shape(shape):
    n_features = int(np.prod(shape))
    autoencoder = ConvAutoencoder(
        n_features, shape, (4, 8, 16), 3, generator=torch.Generator().manual_seed(0)
    )
    x = torch.rand(5, n_features)
    assert autoencoder.encode(x).shape == (5, 3)
    assert autoencoder(x).shape == (5, n_features)


def test_conv_rescale_embedding_keeps_the_reconstruction():
    autoencoder = ConvAutoencoder(
        64, (8, 8), (4, 8), 3, generator=torch.Generator().manual_seed(0)
    )
    x = torch.rand(6, 64)
    z, before = autoencoder.encode(x), autoencoder(x)
    autoencoder.rescale_embedding(4.0)
    torch.testing.assert_close(autoencoder.encode(x), 4.0 * z)
    torch.testing.assert_close(autoencoder(x), before)


@pytest.mark.parametrize("estimator_class", [DECClusterer, IDECClusterer])
def test_conv_autoencoder_is_a_module_class(estimator_class, digits):
    X, _ = digits
    model = _fit(estimator_class, X)
    autoencoder = model.module_.autoencoder
    assert isinstance(autoencoder, ConvAutoencoder)
    assert autoencoder.image_shape == (8, 8) and autoencoder.conv_channels == (4, 8)
    assert model.transform(X).shape == (300, 4)
    np.testing.assert_array_equal(model.predict(X), model.labels_)


def test_augment_with_the_dense_autoencoder(digits):
    X, _ = digits
    params = {k: v for k, v in TINY_CONV.items() if not k.startswith("module")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = DECClusterer(
            10,
            **params,
            module__hidden_dims=(16,),
            module__latent_dim=4,
            augment=(8, 8),
            random_state=0,
        ).fit(X)
    assert not isinstance(model.module_.autoencoder, ConvAutoencoder)
    assert model.module_.autoencoder.dims == (64, 16, 4)


def test_conv_model_round_trips_through_save(digits, tmp_path):
    X, _ = digits
    model = _fit(DECClusterer, X)
    model.save(tmp_path / "conv.skdec")
    loaded = DECClusterer.load(tmp_path / "conv.skdec")
    assert isinstance(loaded.module_.autoencoder, ConvAutoencoder)
    # The file names skdec's class; loading maps the name, imports nothing.
    assert loaded.module is ConvAutoencoder
    assert loaded.get_params()["module__image_shape"] == (8, 8)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_conv_fit_is_deterministic(digits):
    X, _ = digits
    first, second = _fit(DECClusterer, X), _fit(DECClusterer, X)
    np.testing.assert_array_equal(first.labels_, second.labels_)
    np.testing.assert_array_equal(first.cluster_centers_, second.cluster_centers_)


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({"module__image_shape": (8, 9)}, ValueError, "holds 72 values but X has 64"),
        ({"module__image_shape": (64,)}, ValueError, r"\(H, W\) or \(C, H, W\)"),
        ({"augment": (8, 9)}, ValueError, "augment=.8, 9. holds 72 values"),
        ({"module__conv_channels": ()}, ValueError, "at least one width"),
        ({"module__conv_channels": (4, 0)}, ValueError, "positive widths"),
        (
            {"module__layerwise_dropout": 0.2},
            TypeError,
            "ConvAutoencoder.*unexpected keyword argument 'layerwise_dropout'",
        ),
    ],
)
def test_image_parameters_are_checked_before_training(digits, params, error, message):
    X, _ = digits
    model = DECClusterer(**{**TINY_CONV, "pretrain_epochs": 10_000, **params})
    with pytest.raises(error, match=message):
        model.fit(X)
    assert not hasattr(model, "module_")


def test_identity_augmentation_changes_nothing():
    # The augmentation hook must not disturb the data or the random stream.
    X = torch.rand(100, 64)

    def losses(augment):
        autoencoder = ConvAutoencoder(
            64, (8, 8), (4,), 3, generator=torch.Generator().manual_seed(0)
        )
        hooks = Hooks(None, None, LocalComm())
        pretrain(
            autoencoder,
            X,
            layerwise_dropout=None,
            epochs=2,
            batch_size=32,
            learning_rate=1e-3,
            optimizer="adam",
            generator=torch.Generator().manual_seed(1),
            device=torch.device("cpu"),
            comm=LocalComm(),
            hooks=hooks,
            augment=augment,
        )
        return [record["loss"] for record in hooks.history]

    assert losses(None) == losses(lambda x, generator: x)


def test_augmentation_is_applied_to_every_training_batch():
    X = torch.rand(100, 64)
    seen = []

    def spy(x, generator):
        seen.append(x.clone())
        return x.flip(1)

    autoencoder = ConvAutoencoder(
        64, (8, 8), (4,), 3, generator=torch.Generator().manual_seed(0)
    )
    common = dict(
        batch_size=32,
        generator=torch.Generator().manual_seed(1),
        device="cpu",
        comm=LocalComm(),
        hooks=Hooks(None, None, LocalComm()),
    )
    pretrain(
        autoencoder,
        X,
        layerwise_dropout=None,
        epochs=2,
        learning_rate=1e-3,
        optimizer="adam",
        augment=spy,
        **common,
    )
    assert len(seen) == 2 * 4  # 2 epochs of 4 batches
    module = DECModule(autoencoder, torch.zeros(3, 3))
    seen.clear()
    outcome = train_clustering(
        module,
        X,
        max_iter=7,
        update_interval=3,
        tol=0.0,
        learning_rate=0.01,
        augment=spy,
        **common,
    )
    assert outcome.n_iter == 7 and len(seen) == 7
    # The transform gets clean training rows.
    rows = {tuple(row.tolist()) for row in X}
    assert all(tuple(row.tolist()) in rows for batch in seen for row in batch)


def test_augment_changes_the_fit_and_stays_seeded(digits):
    X, _ = digits
    plain = _fit(DECClusterer, X)
    augmented = _fit(DECClusterer, X, augment=(8, 8))
    again = _fit(DECClusterer, X, augment=(8, 8))

    def pretrain_losses(model):
        return [r["loss"] for r in model.history_ if r["stage"].startswith("pretrain")]

    assert pretrain_losses(augmented) != pretrain_losses(plain)
    np.testing.assert_array_equal(augmented.labels_, again.labels_)
    # Inference sees the clean images.
    np.testing.assert_array_equal(augmented.predict(X), augmented.labels_)

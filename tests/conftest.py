"""Shared fixtures: small data and a tiny, fast network configuration."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from torch import nn

# A network small enough that a fit takes well under a second on 2 CPU cores.
# Narrow networks train with Adam: SGD at its "auto" rate 1.0 suits wide ones
# (the default) but left a 16-unit network untrained on 200 points.
TINY = dict(
    pretrain_optimizer="adam",
    module__hidden_dims=(16,),
    module__latent_dim=2,
    pretrain_epochs=3,
    max_iter=30,
    update_interval=5,
    n_init=2,
)
# IIC's: small enough that a fit takes a fraction of a second on one CPU
# thread, large enough that three blobs are found (check_clustering needs
# ARI > 0.4).
TINY_IIC = dict(
    module__hidden_dims=(32,),
    n_heads=3,
    overcluster_factor=2,
    max_epochs=30,
    batch_size=16,
    learning_rate=0.01,
)

# TINY without the built-in network's parameters: for a user's ``module``.
TINY_FIT = {k: v for k, v in TINY.items() if not k.startswith("module__")}


def tiny_estimators(n_clusters=None, **params):
    """One tiny, seeded instance of every skdec estimator.

    The one place where tests configure them all; ``n_clusters=None`` keeps
    each estimator's default.
    """
    from skdec import DECClusterer, IDECClusterer, IICClusterer

    if n_clusters is not None:
        params["n_clusters"] = n_clusters
    return [
        DECClusterer(**TINY, random_state=0, **params),
        IDECClusterer(**TINY, random_state=0, **params),
        IICClusterer(**TINY_IIC, random_state=0, **params),
    ]


@pytest.fixture
def blobs():
    X, y = make_blobs(
        n_samples=150, centers=3, n_features=6, cluster_std=0.5, random_state=0
    )
    X = (X - X.min(0)) / (X.max(0) - X.min(0))
    return X.astype(np.float32), y


class TinyAutoencoder(nn.Module):
    """A user's autoencoder (``module=``): ``n_features`` comes from the
    estimator, ``width`` and ``latent`` are ``module__`` parameters."""

    def __init__(self, n_features, width=16, latent=2):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Linear(n_features, width), nn.ReLU(), nn.Linear(width, latent)
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent, width), nn.ReLU(), nn.Linear(width, n_features)
        )

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z)

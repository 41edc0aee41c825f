"""IDECClusterer: DEC plus a reconstruction term in the clustering stage."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score

from skdec import DECClusterer, IDECClusterer

from .conftest import TINY


def _fit(cls, X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return cls(**{**TINY, "n_clusters": 3, "random_state": 0, **params}).fit(X)


def test_idec_finds_well_separated_clusters(blobs):
    X, y = blobs
    idec = _fit(IDECClusterer, X, pretrain_epochs=20, max_iter=100)
    assert adjusted_rand_score(y, idec.labels_) > 0.95
    np.testing.assert_array_equal(idec.labels_, idec.predict(X))


def test_idec_trains_the_decoder_and_dec_does_not(blobs):
    X, _ = blobs
    init = _fit(DECClusterer, X, max_iter=0)
    dec = _fit(DECClusterer, X)
    idec = _fit(IDECClusterer, X)

    def decoder(est):
        return est.module_.autoencoder.decoder_layers[0].weight.detach().numpy()

    np.testing.assert_array_equal(decoder(dec), decoder(init))
    assert not np.array_equal(decoder(idec), decoder(init))


def test_gamma_zero_keeps_the_kmeans_centroids(blobs):
    X, _ = blobs
    init = _fit(DECClusterer, X, max_iter=0)
    idec = _fit(IDECClusterer, X, gamma=0.0)
    np.testing.assert_array_equal(idec.cluster_centers_, init.cluster_centers_)


def test_gamma_is_validated_and_cloned(blobs):
    X, _ = blobs
    with pytest.raises(ValueError, match="gamma"):
        IDECClusterer(gamma=-1.0).fit(X)
    assert IDECClusterer(gamma=0.5).get_params()["gamma"] == 0.5
    assert "gamma" not in DECClusterer().get_params()


def test_idec_takes_every_dec_parameter():
    # Same parameters plus gamma; only the clustering rate's default differs.
    dec, idec = DECClusterer().get_params(), IDECClusterer().get_params()
    assert set(idec) == set(dec) | {"gamma"}
    differing = {k for k in dec if dec[k] != idec[k]}
    assert differing == {"learning_rate"}
    assert idec["learning_rate"] == 0.1
    picked = IDECClusterer(n_clusters_search="silhouette").get_params()
    assert picked["n_clusters_search"] == "silhouette"

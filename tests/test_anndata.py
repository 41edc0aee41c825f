"""skdec.anndata.cluster: inputs, outputs, copy semantics and errors."""

import sys

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.cluster import KMeans

from skdec import DECClusterer, IICClusterer
from skdec.anndata import cluster
from skdec.metrics import adjusted_rand_score
from tests.conftest import TINY, TINY_IIC

anndata = pytest.importorskip("anndata")
pd = pytest.importorskip("pandas")


def _tiny(**params):
    return DECClusterer(3, **{**TINY, "random_state": 0, **params})


@pytest.fixture
def data(blobs):
    return blobs


@pytest.fixture
def adata(data):
    return anndata.AnnData(data[0])


def _spy_fit(monkeypatch, estimator):
    """Record the type of what ``estimator.fit`` is given."""
    seen = []
    fit = estimator.fit

    def spy(X, y=None):
        seen.append(X)
        return fit(X)

    monkeypatch.setattr(estimator, "fit", spy)
    return seen


def _check_written(adata, estimator, key="dec", n_clusters=3):
    n_cells = adata.n_obs
    labels = adata.obs[key]
    assert isinstance(labels.dtype, pd.CategoricalDtype)
    assert labels.cat.categories.tolist() == [str(j) for j in range(n_clusters)]
    np.testing.assert_array_equal(labels.cat.codes.to_numpy(), estimator.labels_)
    embedding = adata.obsm["X_" + key]
    assert embedding.shape == (n_cells, estimator.module__latent_dim)
    proba = adata.obsm[key + "_proba"]
    assert proba.shape == (n_cells, n_clusters)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    # Column j of the soft assignment is category str(j).
    np.testing.assert_array_equal(proba.argmax(axis=1), estimator.labels_)
    uns = adata.uns[key]
    assert uns["estimator"] == type(estimator).__name__
    assert uns["params"]["n_clusters"] == n_clusters
    hidden_dims = uns["params"]["module__hidden_dims"]
    assert list(hidden_dims) == list(estimator.module__hidden_dims)


def test_dense_x_in_place_returns_none_and_fits_the_given_estimator(adata, data):
    dec = _tiny()
    assert cluster(adata, dec) is None  # as scanpy's tools
    assert hasattr(dec, "labels_")
    _check_written(adata, dec)
    assert adata.uns["dec"]["input"] == "X"
    assert adata.uns["dec"]["params"]["random_state"] == 0
    # None values (callbacks, augment) are left out; an .h5ad stores the rest.
    assert "callbacks" not in adata.uns["dec"]["params"]
    assert adata.uns["dec"]["params"]["pretrain_optimizer"] == "adam"
    # The same fit as the estimator's own on the array.
    np.testing.assert_array_equal(dec.labels_, _tiny().fit(data[0]).labels_)
    assert adjusted_rand_score(data[1], dec.labels_) > 0.9


def test_results_survive_h5ad(adata, tmp_path):
    cluster(adata, _tiny())
    adata.write_h5ad(tmp_path / "out.h5ad")
    back = anndata.read_h5ad(tmp_path / "out.h5ad")
    assert back.obs["dec"].equals(adata.obs["dec"])
    np.testing.assert_array_equal(back.obsm["dec_proba"], adata.obsm["dec_proba"])
    assert back.uns["dec"]["params"]["max_iter"] == TINY["max_iter"]


def test_sparse_x_is_not_densified(monkeypatch, data):
    adata = anndata.AnnData(sp.csr_matrix(data[0]))
    dec = _tiny()
    seen = _spy_fit(monkeypatch, dec)
    cluster(adata, dec)
    assert sp.issparse(seen[0])
    _check_written(adata, dec)
    # Dense and sparse X: the same result.
    np.testing.assert_array_equal(dec.labels_, _tiny().fit(data[0]).labels_)


def test_layer(adata, data):
    adata.X = np.zeros_like(data[0])
    adata.layers["scaled"] = data[0]
    dec = _tiny()
    cluster(adata, dec, layer="scaled", key_added="mine")
    _check_written(adata, dec, key="mine")
    assert adata.uns["mine"]["input"] == "layers['scaled']"
    assert "dec" not in adata.obs
    assert adjusted_rand_score(data[1], dec.labels_) > 0.9


@pytest.mark.parametrize("as_frame", [False, True])
def test_use_rep(adata, data, as_frame):
    adata.X = np.zeros_like(data[0])
    rep = data[0][:, :4]
    adata.obsm["X_pca"] = pd.DataFrame(rep, index=adata.obs_names) if as_frame else rep
    dec = _tiny()
    cluster(adata, dec, use_rep="X_pca")
    assert dec.n_features_in_ == 4
    assert adata.uns["dec"]["input"] == "obsm['X_pca']"
    _check_written(adata, dec)


@pytest.mark.parametrize("sparse", [False, True])
def test_backed_x_is_read_in_place(monkeypatch, tmp_path, data, sparse):
    X = sp.csr_matrix(data[0]) if sparse else data[0]
    anndata.AnnData(X).write_h5ad(tmp_path / "cells.h5ad")
    adata = anndata.read_h5ad(tmp_path / "cells.h5ad", backed="r")
    dec = _tiny()
    seen = _spy_fit(monkeypatch, dec)
    cluster(adata, dec)
    # The estimator got the on-disk matrix itself, not an array read from it.
    assert not isinstance(seen[0], np.ndarray) and not sp.issparse(seen[0])
    assert type(seen[0]) is type(adata.X)
    _check_written(adata, dec)
    np.testing.assert_array_equal(dec.labels_, _tiny().fit(data[0]).labels_)
    with pytest.raises(ValueError, match="backed"):
        cluster(adata, _tiny(), copy=True)
    adata.file.close()


def test_copy_true_leaves_adata_untouched(adata):
    before = adata.copy()
    dec = _tiny()
    copied = cluster(adata, dec, copy=True)
    assert isinstance(copied, anndata.AnnData) and copied is not adata
    assert list(adata.obs) == list(before.obs) and not adata.obsm and not adata.uns
    _check_written(copied, dec)


@pytest.mark.filterwarnings("ignore::anndata.ImplicitModificationWarning")
def test_a_view_becomes_its_own_anndata(adata):
    view = adata[:60]
    dec = _tiny()
    assert cluster(view, dec) is None
    assert not view.is_view and view.n_obs == 60
    _check_written(view, dec)
    assert "dec" not in adata.obs and not adata.obsm and not adata.uns


def test_default_estimator_is_a_dec_clusterer(monkeypatch, adata):
    # The defaults (the paper's network, 200 epochs) are too slow for a
    # test: replace the class cluster() builds by a tiny one.
    from skdec import _dec

    built = []

    class Tiny(DECClusterer):
        def __init__(self):
            super().__init__(3, **TINY, random_state=0)
            built.append(self)

    monkeypatch.setattr(_dec, "DECClusterer", Tiny)
    assert cluster(adata) is None
    (estimator,) = built
    assert hasattr(estimator, "labels_")
    assert adata.obs["dec"].cat.categories.size == 3
    assert adata.uns["dec"]["estimator"] == "Tiny"


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_other_estimators(adata):
    iic = IICClusterer(3, **TINY_IIC, random_state=0)
    cluster(adata, iic, key_added="iic")
    assert adata.uns["iic"]["estimator"] == "IICClusterer"
    assert adata.obsm["iic_proba"].shape == (adata.n_obs, 3)
    # A clusterer without predict_proba: labels and transform only.
    kmeans = KMeans(3, n_init=2, random_state=0)
    cluster(adata, kmeans, key_added="km")
    assert adata.obs["km"].cat.categories.tolist() == ["0", "1", "2"]
    assert "km_proba" not in adata.obsm and adata.obsm["X_km"].shape == (adata.n_obs, 3)


def test_fits_the_given_object_not_a_clone(adata):
    dec = _tiny()
    template = clone(dec)
    cluster(adata, dec)
    assert hasattr(dec, "module_") and not hasattr(template, "module_")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(layer="counts"), "no layer 'counts'; available: 'raw', 'log'"),
        (dict(use_rep="X_umap"), "no representation 'X_umap'; available: 'X', 'X_pca'"),
        (dict(use_rep="X_pca", layer="raw"), "choose one"),
        (dict(key_added=""), "key_added"),
    ],
)
def test_errors(adata, data, kwargs, message):
    adata.layers["raw"] = data[0]
    adata.layers["log"] = data[0]
    adata.obsm["X_pca"] = data[0][:, :2]
    dec = _tiny()
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        cluster(adata, dec, **kwargs)
    assert not hasattr(dec, "labels_") and "dec" not in adata.obs


def test_not_an_anndata(data):
    with pytest.raises(TypeError, match="AnnData"):
        cluster(data[0], _tiny())


def test_import_error_says_how_to_install(monkeypatch, adata):
    monkeypatch.setitem(sys.modules, "anndata", None)
    with pytest.raises(ImportError, match=r'pip install "skdec\[anndata\]"'):
        cluster(adata, _tiny())


def test_import_skdec_does_not_import_anndata():
    import subprocess

    code = "import skdec, skdec.anndata, sys; print('anndata' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"

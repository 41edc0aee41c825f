"""A user's network (``module``): built, copied, pretrained, searched, saved."""

import json
import sys
import warnings
import zipfile

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.utils import check_random_state
from torch import nn
from torch.nn import functional as F

from skdec import DECClusterer, IDECClusterer, IICClusterer
from skdec._base import _seed
from skdec._nn import StackedAutoencoder

from .conftest import TINY, TINY_IIC, TinyAutoencoder
from .conftest import TINY_FIT as FIT

# FIT for a network used as it is: no pretraining settings to ignore.
AS_IS = {k: v for k, v in FIT.items() if not k.startswith("pretrain")}


class EncoderOnly(nn.Module):
    def __init__(self, n_features, latent=2):
        super().__init__()
        self.linear = nn.Linear(n_features, latent)

    def encode(self, x):
        return self.linear(x)


def _quiet_fit(est, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X)


def _weights(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


# ---------------------------------------------------------------------------
# A class, its module__ parameters and GridSearchCV


def test_a_class_is_built_with_its_module_params(blobs):
    X, _ = blobs
    est = DECClusterer(3, **FIT, module=TinyAutoencoder, module__width=8)
    assert est.get_params()["module__width"] == 8
    _quiet_fit(est.set_params(module__width=5, random_state=0), X)
    network = est.module_.autoencoder.network
    assert isinstance(network, TinyAutoencoder)
    assert network.encoder[0].out_features == 5
    assert est.transform(X).shape == (len(X), 2)
    assert est.cluster_centers_.shape == (3, 2)
    assert clone(est).get_params()["module__width"] == 5


def test_unknown_keyword_arguments_are_refused():
    with pytest.raises(TypeError, match="unexpected keyword argument 'widht'"):
        DECClusterer(3, widht=5)


def test_grid_search_searches_a_module_parameter(blobs):
    X, _ = blobs
    est = DECClusterer(3, **FIT, module=TinyAutoencoder, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(est, {"module__width": [4, 12]}, cv=2).fit(X)
    widths = search.cv_results_["param_module__width"]
    assert list(widths) == [4, 12]
    assert search.best_estimator_.module__width in (4, 12)


def test_a_class_is_seeded_by_random_state_and_leaves_global_rng_alone(blobs):
    X, _ = blobs
    before = torch.random.get_rng_state()
    fits = [
        _quiet_fit(DECClusterer(3, **FIT, module=TinyAutoencoder, random_state=0), X)
        for _ in range(2)
    ]
    assert torch.equal(torch.random.get_rng_state(), before)
    np.testing.assert_array_equal(fits[0].labels_, fits[1].labels_)


# ---------------------------------------------------------------------------
# An instance: copied, never changed; a pretrained encoder alone


def test_an_instance_is_copied_and_never_changed(blobs):
    X, _ = blobs
    network = TinyAutoencoder(X.shape[1])
    weights = _weights(network)
    est = _quiet_fit(DECClusterer(3, **FIT, module=network, random_state=0), X)
    assert est.module_.autoencoder.network is not network
    for name, value in network.state_dict().items():
        assert torch.equal(value, weights[name]), name


@pytest.mark.parametrize("cls", [DECClusterer, IDECClusterer])
def test_a_pretrained_network_skips_pretraining(cls, blobs):
    X, _ = blobs
    params = {**AS_IS, "pretrain_epochs": 0, "random_state": 0}
    est = _quiet_fit(cls(3, **params, module=TinyAutoencoder(X.shape[1])), X)
    stages = {record["stage"] for record in est.history_}
    assert not [s for s in stages if s.startswith("pretrain")]
    assert {"init", "clustering"} <= stages


def test_dec_clusters_an_encoder_without_a_decoder(blobs):
    X, y = blobs
    encoder = EncoderOnly(X.shape[1])
    params = {**AS_IS, "pretrain_epochs": 0}
    est = DECClusterer(3, **params, module=encoder, random_state=0)
    _quiet_fit(est, X)
    assert est.predict(X).shape == (len(X),)


@pytest.mark.parametrize(
    ("cls", "params", "message"),
    [
        (DECClusterer, {}, "no method decode.*pretrain_epochs=0"),
        (
            IDECClusterer,
            {"pretrain_epochs": 0, "pretrain_optimizer": "auto"},
            "no method decode",
        ),
    ],
)
def test_a_missing_decoder_is_named_before_training(blobs, cls, params, message):
    X, _ = blobs
    est = cls(3, **{**FIT, **params}, module=EncoderOnly)
    with pytest.raises(TypeError, match=message):
        est.fit(X)
    assert not hasattr(est, "n_features_in_")


@pytest.mark.parametrize(
    ("module", "params", "error", "message"),
    [
        (nn.Linear(6, 2), {}, TypeError, "no method encode"),
        (lambda x: x, {}, TypeError, "torch.nn.Module subclass or instance"),
        (
            TinyAutoencoder,
            {"init": np.zeros((3, 5)), "n_init": 20},
            ValueError,
            r"\(3, 2\)",
        ),
        # Layer-wise pretraining is the built-in network's: a user's class
        # has no such parameter, and says so before any training.
        (
            TinyAutoencoder,
            {"module__layerwise_dropout": 0.2},
            TypeError,
            r"module=TinyAutoencoder could not be built.*layerwise_dropout",
        ),
        (
            TinyAutoencoder,
            {"module__widht": 4},
            TypeError,
            r"TinyAutoencoder\(n_features=6, widht=4\).*module__<name>",
        ),
        (
            TinyAutoencoder(6),
            {"module__width": 4},
            ValueError,
            "module__width would be ignored.*instance of TinyAutoencoder",
        ),
    ],
)
def test_bad_modules_are_refused_clearly(blobs, module, params, error, message):
    X, _ = blobs
    with pytest.raises(error, match=message):
        DECClusterer(3, **{**FIT, **params}, module=module).fit(X)


# ---------------------------------------------------------------------------
# One code path: a user's copy of the built-in network gives its labels


class Mirror(nn.Module):
    """A user's network built like the built-in one, from its weights."""

    def __init__(self, reference):
        super().__init__()
        self.encoder_linear = nn.ModuleList(
            nn.Linear(layer.in_features, layer.out_features)
            for layer in reference.encoder_layers
        )
        self.decoder_linear = nn.ModuleList(
            nn.Linear(layer.in_features, layer.out_features)
            for layer in reference.decoder_layers
        )
        self.load_state_dict(
            {
                k.replace("encoder_layers", "encoder_linear").replace(
                    "decoder_layers", "decoder_linear"
                ): v
                for k, v in reference.state_dict().items()
            }
        )

    def encode(self, x):
        last = len(self.encoder_linear) - 1
        for i, layer in enumerate(self.encoder_linear):
            x = layer(x) if i == last else F.relu(layer(x))
        return x

    def decode(self, z):
        for i in reversed(range(len(self.decoder_linear))):
            z = self.decoder_linear[i](z)
            z = z if i == 0 else F.relu(z)
        return z

    @torch.no_grad()
    def rescale_embedding(self, factor):
        self.encoder_linear[-1].weight.mul_(factor)
        self.encoder_linear[-1].bias.mul_(factor)
        self.decoder_linear[-1].weight.div_(factor)


@pytest.mark.parametrize("cls", [DECClusterer, IDECClusterer])
def test_a_copy_of_the_built_in_network_gives_the_same_labels(cls, blobs):
    X, _ = blobs
    built_in = _quiet_fit(cls(3, **TINY, random_state=0), X)
    # The weights the built-in network starts from: the first seed drawn.
    seed = _seed(check_random_state(0))
    reference = StackedAutoencoder(
        X.shape[1],
        TINY["module__hidden_dims"],
        TINY["module__latent_dim"],
        generator=torch.Generator().manual_seed(seed),
    )
    user = _quiet_fit(cls(3, **FIT, module=Mirror(reference), random_state=0), X)
    np.testing.assert_array_equal(user.labels_, built_in.labels_)
    np.testing.assert_allclose(user.transform(X), built_in.transform(X), atol=1e-5)


def test_without_rescale_embedding_the_embedding_is_scaled_outside(blobs):
    X, _ = blobs
    params = {**FIT, "max_iter": 0, "update_interval": 30}
    est = _quiet_fit(
        DECClusterer(3, **params, module=TinyAutoencoder, random_state=0), X
    )
    Z = est.transform(X)
    spread = np.sqrt(((Z - Z.mean(0)) ** 2).sum(1).mean())
    assert spread == pytest.approx(est.embedding_scale, rel=1e-4)


# ---------------------------------------------------------------------------
# Everything else keeps working


def test_auto_n_clusters_sparse_and_memmap_input(blobs, tmp_path):
    X, _ = blobs
    params = {**FIT, "module": TinyAutoencoder, "random_state": 0}
    auto = _quiet_fit(DECClusterer(range(2, 5), **params), X)
    assert 2 <= auto.n_clusters_ <= 4
    dense = _quiet_fit(DECClusterer(3, **params), X)
    sparse = _quiet_fit(DECClusterer(3, **params), sp.csr_matrix(X))
    np.testing.assert_array_equal(dense.labels_, sparse.labels_)
    np.save(tmp_path / "X.npy", X)
    memmap = np.load(tmp_path / "X.npy", mmap_mode="r")
    streamed = _quiet_fit(DECClusterer(3, **params), memmap)
    np.testing.assert_array_equal(dense.labels_, streamed.labels_)


# ---------------------------------------------------------------------------
# Saving without pickle: the file never names code


@pytest.fixture
def saved(blobs, tmp_path):
    X, _ = blobs
    est = _quiet_fit(
        DECClusterer(3, **FIT, module=TinyAutoencoder, module__width=8, random_state=0),
        X,
    )
    path = tmp_path / "model.skdec"
    est.save(path)
    return est, path, X


def test_a_model_loads_with_its_class_or_an_instance(saved):
    est, path, X = saved
    from_class = DECClusterer.load(path, module=TinyAutoencoder)
    assert from_class.module__width == 8 and from_class.module is TinyAutoencoder
    np.testing.assert_array_equal(from_class.predict(X), est.labels_)
    instance = TinyAutoencoder(X.shape[1], width=8)
    weights = _weights(instance)
    from_instance = DECClusterer.load(path, module=instance)
    np.testing.assert_allclose(from_instance.predict_proba(X), est.predict_proba(X))
    for name, value in instance.state_dict().items():
        assert torch.equal(value, weights[name]), name


def test_loading_without_the_module_says_what_to_pass(saved):
    _, path, X = saved
    with pytest.raises(ValueError, match=r"load\(path, module=MyNetwork\)"):
        DECClusterer.load(path)
    with pytest.raises(ValueError, match="shape"):
        DECClusterer.load(path, module=TinyAutoencoder(X.shape[1], width=3))


def test_a_model_of_a_built_in_network_loads_without_module(blobs, tmp_path):
    X, _ = blobs
    iic = IICClusterer(3, **{**TINY_IIC, "max_epochs": 1}, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        iic.fit(X).save(tmp_path / "iic.skdec")
    with pytest.raises(ValueError, match="own network.*takes no module"):
        IICClusterer.load(tmp_path / "iic.skdec", module=TinyAutoencoder)


class TinyBackbone(nn.Module):
    """A user's IIC backbone: features ``out_dim`` wide."""

    def __init__(self, n_features, width=8):
        super().__init__()
        self.linear = nn.Linear(n_features, width)
        self.out_dim = width

    def forward(self, x):
        return F.relu(self.linear(x))


def test_iic_trains_saves_and_loads_a_users_backbone(blobs, tmp_path):
    X, _ = blobs
    params = {**TINY_IIC, "max_epochs": 2, "random_state": 0}
    del params["module__hidden_dims"]
    iic = IICClusterer(3, **params, module=TinyBackbone, module__width=12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        iic.fit(X).save(tmp_path / "iic.skdec")
    assert iic.module_.backbone.linear.out_features == 12
    with pytest.raises(ValueError, match=r"load\(path, module=MyNetwork\)"):
        IICClusterer.load(tmp_path / "iic.skdec")
    loaded = IICClusterer.load(tmp_path / "iic.skdec", module=TinyBackbone)
    np.testing.assert_array_equal(loaded.predict(X), iic.labels_)


def test_an_iic_backbone_needs_out_dim(blobs):
    X, _ = blobs
    with pytest.raises(TypeError, match="has no out_dim"):
        IICClusterer(3, module=nn.Linear(6, 4), max_epochs=1).fit(X)


def _rewrite_metadata(path, edit):
    """``path`` with its JSON metadata changed by ``edit`` (a crafted file)."""
    arrays = dict(np.load(path, allow_pickle=False))
    metadata = json.loads(arrays["__metadata__"].tobytes().decode())
    edit(metadata)
    text = json.dumps(metadata).encode()
    arrays["__metadata__"] = np.frombuffer(text, dtype=np.uint8)
    crafted = path.with_name("crafted.skdec")
    with open(crafted, "wb") as file:
        np.savez(file, **arrays)
    return crafted


@pytest.mark.parametrize("where", ["params", "config"])
def test_a_crafted_file_naming_code_imports_and_runs_nothing(saved, where, tmp_path):
    _, path, _ = saved
    marker = tmp_path / "ran"
    name = "skdec_crafted_payload"

    def edit(metadata):
        payload = f"{name}:__import__('pathlib').Path({str(marker)!r}).touch()"
        if where == "params":
            metadata["params"]["module"] = payload
        else:
            metadata["module_config"]["user_module"]["class"] = payload
            metadata["module_config"]["user_module"]["params"]["code"] = payload

    crafted = _rewrite_metadata(path, edit)
    assert zipfile.is_zipfile(crafted)
    with pytest.raises(ValueError):
        DECClusterer.load(crafted)
    assert not marker.exists()
    assert name not in sys.modules

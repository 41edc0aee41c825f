"""DEC's networks: built from the parameters, taken from the user, rebuilt.

The built-in modules live in :mod:`skdec._nn` (the dense stacked
autoencoder, the clustering layer) and :mod:`skdec._conv_nn` (DCEC's
convolutional autoencoder). A user's network (the ``module`` parameter) is
any ``torch.nn.Module`` with ``encode(x)`` (and ``decode(z)`` where the
reconstruction is trained); it goes through the same code. This file builds
or copies the network and describes a trained one as JSON-able
configuration for :mod:`skdec._persist`, which never names code: loading a
user's network needs the user to pass it again.
"""

import copy
import inspect

import torch
from torch import nn

from ._conv_nn import ConvAutoencoder
from ._nn import DECModule, StackedAutoencoder
from ._perturb import ImagePerturbation


class ModuleRequiredError(TypeError):
    """Loading a model with a user's network without that network."""


# DEC-DA's augmentation (Guo et al., 2018): shifts up to 10% of the image
# size and rotations up to 10 degrees, either way.
AUGMENT_TRANSLATION = 0.1
AUGMENT_ROTATION = 10.0


def build_autoencoder(
    n_features, *, hidden_dims, latent_dim, image_shape, conv_channels, generator
):
    """A freshly initialised autoencoder: DCEC's convolutional one for images
    (``image_shape`` with ``conv_channels``), the dense stack otherwise."""
    if image_shape is not None and conv_channels is not None:
        return ConvAutoencoder(
            tuple(image_shape), tuple(conv_channels), latent_dim, generator=generator
        )
    dims = (n_features, *hidden_dims, latent_dim)
    return StackedAutoencoder(dims, generator=generator)


def augmentation(image_shape):
    """DEC-DA's random shifts and rotations of images of ``image_shape``."""
    return ImagePerturbation(
        tuple(image_shape),
        rotation=AUGMENT_ROTATION,
        scale=(1.0, 1.0),
        shear=0.0,
        translation=AUGMENT_TRANSLATION,
        noise_std=0.0,
    )


# ---------------------------------------------------------------------------
# A user's network


class ScaledEmbedding(nn.Module):
    """A user's network whose embedding is multiplied by a stored factor.

    The clustering stage rescales the pretrained embedding to a fixed
    spread (``embedding_scale``). The built-in autoencoders fold the factor
    into their weights (``rescale_embedding``); a user's network that has no
    such method is wrapped, so that ``encode`` and ``decode`` see the factor
    and the network's own weights stay as trained.
    """

    def __init__(self, network):
        super().__init__()
        self.network = network
        self.register_buffer("scale", torch.ones(()))

    def encode(self, x):
        return self.network.encode(x) * self.scale

    def decode(self, z):
        return self.network.decode(z / self.scale)

    @torch.no_grad()
    def rescale_embedding(self, factor):
        self.scale.mul_(factor)


def check_user_module(module, *, needs_decoder, pretrain):
    """``module`` (a class or an instance) must be an ``nn.Module`` with
    ``encode`` (and ``decode`` when ``needs_decoder``); else a clear error."""
    is_class = inspect.isclass(module)
    if not (
        issubclass(module, nn.Module) if is_class else isinstance(module, nn.Module)
    ):
        raise TypeError(
            f"module must be a torch.nn.Module subclass or instance, got {module!r}."
        )
    name = module.__name__ if is_class else type(module).__name__
    wanted = ["encode", "decode"] if needs_decoder else ["encode"]
    missing = [m for m in wanted if not callable(getattr(module, m, None))]
    if missing:
        why = (
            " (pretraining and IDEC reconstruct the input: pass pretrain_epochs=0 "
            "to use a pretrained encoder alone with DEC)"
            if "decode" in missing
            else ""
        )
        raise TypeError(
            f"module {name} has no method {' or '.join(missing)}: skdec calls "
            f"encode(x) for the embedding and decode(z) back to the input{why}."
        )
    if pretrain == "layerwise":
        raise ValueError(
            "pretrain='layerwise' trains the built-in network's layer pairs; "
            "a user's module pretrains 'end_to_end' (or not at all, with "
            "pretrain_epochs=0)."
        )


def build_user_module(module, n_features, params, seed):
    """The user's network for a fit: built from the class, or a copy.

    A class is built as ``module(n_features=n_features, **params)`` with
    torch's global random state forked and seeded by ``seed``, so its
    initial weights follow ``random_state`` and the caller's global state
    is left as it was. An instance is deep-copied: ``fit`` never changes
    the user's object. Without ``rescale_embedding`` the network is
    wrapped in :class:`ScaledEmbedding`.
    """
    if inspect.isclass(module):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            network = module(n_features=n_features, **params)
    else:
        network = copy.deepcopy(module)
    if callable(getattr(network, "rescale_embedding", None)):
        return network
    return ScaledEmbedding(network)


# ---------------------------------------------------------------------------
# Saved configurations


def dec_module_config(module, user=None):
    """JSON-able arguments from which :func:`build_dec_module` rebuilds it.

    ``user`` (``{"n_features": ..., "params": module__ parameters}``) marks a
    user's network: its configuration records those, never the network's
    code.
    """
    autoencoder = module.autoencoder
    config = {"n_clusters": int(module.centroids.shape[0]), "alpha": module.alpha}
    if user is not None:
        config["user_module"] = {
            **user,
            "scaled": isinstance(autoencoder, ScaledEmbedding),
            "latent_dim": int(module.centroids.shape[1]),
        }
    elif isinstance(autoencoder, ConvAutoencoder):
        config["image_shape"] = list(autoencoder.image_shape)
        config["conv_channels"] = list(autoencoder.channels)
        config["latent_dim"] = autoencoder.latent_dim
    else:
        config["dims"] = list(autoencoder.dims)
    return config


def build_dec_module(config, module=None):
    """An untrained DEC module with the architecture ``config`` describes.

    A user's network comes from ``module`` (the class, built with the saved
    ``module__`` parameters, or an instance of the same architecture, copied),
    since the file names no code.
    """
    user = config.get("user_module")
    if user is not None:
        if module is None:
            raise ModuleRequiredError(
                "this model was fitted with a user's network (module=...), "
                "whose code a model file never holds: in Python, pass it to "
                "load, as its class (load(path, module=MyNetwork)) or as an "
                "instance of the same architecture. The command line cannot "
                "load such a model."
            )
        if inspect.isclass(module):
            # The saved weights replace the initial ones: leave the caller's
            # global random state as it was.
            with torch.random.fork_rng(devices=[]):
                network = module(n_features=user["n_features"], **user["params"])
        else:
            network = copy.deepcopy(module)
        if user["scaled"]:
            network = ScaledEmbedding(network)
        centroids = torch.zeros(config["n_clusters"], user["latent_dim"])
        return DECModule(network, centroids, config["alpha"])
    if "image_shape" in config:
        autoencoder = ConvAutoencoder(
            config["image_shape"], config["conv_channels"], config["latent_dim"]
        )
        latent_dim = config["latent_dim"]
    else:
        autoencoder = StackedAutoencoder(config["dims"])
        latent_dim = config["dims"][-1]
    centroids = torch.zeros(config["n_clusters"], latent_dim)
    return DECModule(autoencoder, centroids, config["alpha"])

"""The estimators' networks: built from ``module``, checked, described, rebuilt.

``module`` is skorch's: a ``torch.nn.Module`` class built in every fit as
``module(n_features=..., **module__params)``, an instance (copied), or None
for the estimator's default class (:mod:`skdec.networks`). The built-in
classes take the same road as a user's. A class whose constructor takes
``generator`` draws its initial weights from the fit's seeded generator (the
built-in ones do); any other class is built with torch's global random
state forked and seeded, so its weights follow ``random_state`` and the
caller's global state is left alone. This file also describes a trained
network as JSON-able configuration for :mod:`skdec._persist`, which never
names code: the built-in classes are named, a user's network must be passed
again to load.
"""

import copy
import inspect

import torch
from torch import nn

from ._conv_nn import ConvAutoencoder
from ._iic_nn import IICBackbone
from ._nn import DECModule, StackedAutoencoder
from ._perturb import ImagePerturbation

# The classes of skdec.networks, by name: a model file may name these (and
# only these) as its ``module`` parameter.
BUILT_IN_NETWORKS = {
    cls.__name__: cls for cls in (StackedAutoencoder, ConvAutoencoder, IICBackbone)
}


class ModuleRequiredError(TypeError):
    """Loading a model with a user's network without that network."""


# DEC-DA's augmentation (Guo et al., 2018): shifts up to 10% of the image
# size and rotations up to 10 degrees, either way.
AUGMENT_TRANSLATION = 0.1
AUGMENT_ROTATION = 10.0


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
# Building a network from ``module``


def module_params(estimator):
    """The estimator's ``module__`` parameters, without their prefix."""
    return {
        name.removeprefix("module__"): value
        for name, value in vars(estimator).items()
        if name.startswith("module__")
    }


def _name(module):
    return module.__name__ if inspect.isclass(module) else type(module).__name__


def _takes_generator(cls):
    try:
        return "generator" in inspect.signature(cls).parameters
    except (TypeError, ValueError):  # no signature to read
        return False


def check_module(module, params, *, methods, why=""):
    """``module`` must be an ``nn.Module`` class or instance with ``methods``.

    ``params`` (the ``module__`` parameters) configure a class: with an
    instance they would be ignored, so they are refused. ``why`` explains
    the methods asked for, in the error.
    """
    is_class = inspect.isclass(module)
    if not (
        issubclass(module, nn.Module) if is_class else isinstance(module, nn.Module)
    ):
        raise TypeError(
            f"module must be a torch.nn.Module subclass or instance, got {module!r}."
        )
    if params and not is_class:
        names = ", ".join(f"module__{name}" for name in sorted(params))
        raise ValueError(
            f"{names} would be ignored: module__ parameters build a module "
            f"class, but module is an instance of {_name(module)}, used as it "
            "is. Pass its class, or drop them."
        )
    missing = [m for m in methods if not callable(getattr(module, m, None))]
    if missing:
        raise TypeError(
            f"module {_name(module)} has no method {' or '.join(missing)}: {why}"
        )


def build_network(module, n_features, params, generator):
    """The network of a fit: ``module`` built from its class, or a copy.

    ``generator`` (a CPU ``torch.Generator``) seeds the initial weights; see
    the module docstring. An instance is deep-copied: ``fit`` never changes
    the user's object. A class that cannot be built with these arguments
    (a missing or unknown ``module__`` parameter, a bad value) raises the
    class's error, prefixed with what was tried.
    """
    if not inspect.isclass(module):
        return copy.deepcopy(module)
    try:
        if _takes_generator(module):
            return module(n_features=n_features, generator=generator, **params)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(generator.initial_seed())
            return module(n_features=n_features, **params)
    except (TypeError, ValueError) as exc:
        given = "".join(f", {name}={value!r}" for name, value in params.items())
        raise type(exc)(
            f"module={module.__name__} could not be built as {module.__name__}"
            f"(n_features={n_features}{given}); its parameters are passed as "
            f"module__<name>: {exc}"
        ) from exc


def rebuild_network(module, n_features, params):
    """A network to load saved weights into: built from ``module`` (class or
    instance) without touching torch's global random state."""
    with torch.random.fork_rng(devices=[]):
        return build_network(module, n_features, params, torch.Generator())


# ---------------------------------------------------------------------------
# DEC's networks


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


def check_autoencoder(module, params, *, needs_decoder):
    """DEC's ``module`` (None for the default) must have ``encode`` (and
    ``decode`` when ``needs_decoder``); else a clear error, before any data."""
    why = "skdec calls encode(x) for the embedding and decode(z) back to the input"
    if needs_decoder:
        why += (
            " (pretraining and IDEC reconstruct the input: pass "
            "pretrain_epochs=0 to use a pretrained encoder alone with DEC)"
        )
    methods = ["encode", "decode"] if needs_decoder else ["encode"]
    check_module(
        StackedAutoencoder if module is None else module,
        params,
        methods=methods,
        why=why + ".",
    )


def declared_latent_dim(module, params):
    """The embedding's width a module class will have, where its parameters
    (or their defaults) say so before it is built; else None."""
    module = StackedAutoencoder if module is None else module
    if "latent_dim" in params:
        return params["latent_dim"]
    if not inspect.isclass(module):
        return None
    try:
        parameter = inspect.signature(module).parameters.get("latent_dim")
    except (TypeError, ValueError):
        return None
    if parameter is None or parameter.default is inspect.Parameter.empty:
        return None
    return parameter.default


def dec_network(module, n_features, params, generator):
    """DEC's autoencoder for a fit; one without ``rescale_embedding`` is
    wrapped in :class:`ScaledEmbedding`."""
    module = StackedAutoencoder if module is None else module
    network = build_network(module, n_features, params, generator)
    if callable(getattr(network, "rescale_embedding", None)):
        return network
    return ScaledEmbedding(network)


def dec_module_config(module, user=None):
    """JSON-able arguments from which :func:`build_dec_module` rebuilds it.

    A built-in autoencoder is described by its architecture. Any other
    network records ``user`` (``{"n_features": ..., "params": module__
    parameters}``), never the network's code.
    """
    autoencoder = module.autoencoder
    config = {"n_clusters": int(module.centroids.shape[0]), "alpha": module.alpha}
    if type(autoencoder) is ConvAutoencoder:
        config["image_shape"] = list(autoencoder.image_shape)
        config["conv_channels"] = list(autoencoder.conv_channels)
        config["latent_dim"] = autoencoder.latent_dim
    elif type(autoencoder) is StackedAutoencoder:
        config["dims"] = list(autoencoder.dims)
    else:
        config["user_module"] = {
            **user,
            "scaled": isinstance(autoencoder, ScaledEmbedding),
            "latent_dim": int(module.centroids.shape[1]),
        }
    return config


def _module_required():
    return ModuleRequiredError(
        "this model was fitted with a user's network (module=...), "
        "whose code a model file never holds: in Python, pass it to "
        "load, as its class (load(path, module=MyNetwork)) or as an "
        "instance of the same architecture. The command line cannot "
        "load such a model."
    )


def build_dec_module(config, module=None):
    """An untrained DEC module with the architecture ``config`` describes.

    A user's network comes from ``module`` (the class, built with the saved
    ``module__`` parameters, or an instance of the same architecture, copied),
    since the file names no code.
    """
    user = config.get("user_module")
    if user is not None:
        if module is None:
            raise _module_required()
        network = rebuild_network(module, user["n_features"], user["params"])
        if user["scaled"]:
            network = ScaledEmbedding(network)
        centroids = torch.zeros(config["n_clusters"], user["latent_dim"])
        return DECModule(network, centroids, config["alpha"])
    if "image_shape" in config:
        n_features = 1
        for size in config["image_shape"]:
            n_features *= size
        autoencoder = rebuild_network(
            ConvAutoencoder,
            n_features,
            {
                "image_shape": config["image_shape"],
                "conv_channels": config["conv_channels"],
                "latent_dim": config["latent_dim"],
            },
        )
        latent_dim = config["latent_dim"]
    else:
        dims = config["dims"]
        autoencoder = rebuild_network(
            StackedAutoencoder,
            dims[0],
            {"hidden_dims": dims[1:-1], "latent_dim": dims[-1]},
        )
        latent_dim = dims[-1]
    centroids = torch.zeros(config["n_clusters"], latent_dim)
    return DECModule(autoencoder, centroids, config["alpha"])


# ---------------------------------------------------------------------------
# IIC's backbone


def check_backbone(module, params):
    """IIC's ``module`` (None for the default) must be an ``nn.Module`` whose
    calls give the features the heads read, ``out_dim`` wide."""
    check_module(IICBackbone if module is None else module, params, methods=[])


def iic_backbone(module, n_features, params, generator):
    """IIC's backbone for a fit, with an int ``out_dim``."""
    module = IICBackbone if module is None else module
    backbone = build_network(module, n_features, params, generator)
    out_dim = getattr(backbone, "out_dim", None)
    if not isinstance(out_dim, int) or isinstance(out_dim, bool) or out_dim < 1:
        raise TypeError(
            f"module {_name(module)} has no out_dim: IICClusterer sizes its "
            "heads from the backbone's out_dim, the width of the features its "
            f"forward returns (got {out_dim!r})."
        )
    return backbone


def iic_backbone_config(backbone, user=None):
    """JSON-able description of IIC's backbone: its architecture when it is
    the built-in one, else ``user`` and its ``out_dim``."""
    if type(backbone) is IICBackbone:
        return {
            "n_features": backbone.n_features,
            "image_shape": (
                None if backbone.image_shape is None else list(backbone.image_shape)
            ),
            "conv_channels": list(backbone.conv_channels),
            "hidden_dims": list(backbone.hidden_dims),
        }
    return {"user_module": {**user, "out_dim": int(backbone.out_dim)}}


def build_iic_backbone(config, module=None):
    """An untrained backbone with the architecture ``config`` describes."""
    user = config.get("user_module")
    if user is not None:
        if module is None:
            raise _module_required()
        return rebuild_network(module, user["n_features"], user["params"])
    return rebuild_network(
        IICBackbone,
        config["n_features"],
        {
            "image_shape": config["image_shape"],
            "conv_channels": config["conv_channels"],
            "hidden_dims": config["hidden_dims"],
        },
    )

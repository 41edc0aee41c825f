"""DEC's networks built from the estimator's parameters, and rebuilt from files.

The modules themselves live in :mod:`skdec._nn` (the dense stacked
autoencoder, the clustering layer) and :mod:`skdec._conv_nn` (DCEC's
convolutional autoencoder); this file chooses between them and describes a
trained one as JSON-able configuration for :mod:`skdec._persist`.
"""

import torch

from ._conv_nn import ConvAutoencoder
from ._nn import DECModule, StackedAutoencoder
from ._perturb import ImagePerturbation

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


def dec_module_config(module):
    """JSON-able arguments from which :func:`build_dec_module` rebuilds it."""
    autoencoder = module.autoencoder
    config = {"n_clusters": int(module.centroids.shape[0]), "alpha": module.alpha}
    if isinstance(autoencoder, ConvAutoencoder):
        config["image_shape"] = list(autoencoder.image_shape)
        config["conv_channels"] = list(autoencoder.channels)
        config["latent_dim"] = autoencoder.latent_dim
    else:
        config["dims"] = list(autoencoder.dims)
    return config


def build_dec_module(config):
    """An untrained DEC module with the architecture ``config`` describes."""
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

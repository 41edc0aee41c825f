"""The built-in networks, as ``module`` classes of the estimators.

As in skorch, the network is a parameter: ``module`` names a
``torch.nn.Module`` class, built in every fit as ``module(n_features=...,
**module__params)``, and each ``module__<name>`` is an estimator parameter
(``get_params``, ``set_params``, ``GridSearchCV``). ``module=None`` is the
estimator's own default network:

* :class:`StackedAutoencoder`: DEC's and IDEC's default, the paper's
  ``d-500-500-2000-10`` autoencoder (``module__hidden_dims``,
  ``module__latent_dim``, ``module__layerwise_dropout``).
* :class:`ConvAutoencoder`: DCEC's convolutional autoencoder for images
  (``module=ConvAutoencoder, module__image_shape=(28, 28)``).
* :class:`IICBackbone`: IIC's default feature extractor
  (``module__image_shape``, ``module__conv_channels``,
  ``module__hidden_dims``).

A class whose constructor takes ``generator`` receives a
:class:`torch.Generator` seeded by the estimator's ``random_state`` and
draws its initial weights from it, as these do; any other class is built
with torch's global generator forked and seeded. See :ref:`user_module`.

Examples
--------
>>> from skdec import DECClusterer
>>> from skdec.networks import ConvAutoencoder
>>> dec = DECClusterer(10, module=ConvAutoencoder, module__image_shape=(8, 8))
>>> dec.get_params()["module__image_shape"]
(8, 8)
"""

from ._conv_nn import ConvAutoencoder
from ._iic_nn import IICBackbone
from ._nn import StackedAutoencoder

__all__ = ["ConvAutoencoder", "IICBackbone", "StackedAutoencoder"]

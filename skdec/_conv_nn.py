"""Convolutional autoencoder for images (DCEC, Guo et al., 2017).

Nothing here knows about scikit-learn or numpy. The module has the interface
of :class:`skdec._nn.StackedAutoencoder` that DEC's clustering stage uses
(``encode``, ``decode``, ``encoder_layers``, ``decoder_layers``,
``rescale_embedding``), so :class:`skdec._nn.DECModule` and the training loops
take either. Rows of the input are images flattened row-major.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

from ._nn import _linear, check_image_shape, check_width, check_widths


def _uniform_init(layer, fan_in, generator):
    """Torch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)), from ``generator``."""
    bound = 1.0 / math.sqrt(fan_in)
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound, generator=generator)
        layer.bias.uniform_(-bound, bound, generator=generator)
    return layer


def _conv(c_in, c_out, kernel, generator):
    """A stride-2 convolution that halves the map (rounding up)."""
    layer = nn.utils.skip_init(
        nn.Conv2d, c_in, c_out, kernel, stride=2, padding=kernel // 2
    )
    return _uniform_init(layer, c_in * kernel**2, generator)


def _deconv(c_in, c_out, kernel, output_padding, generator):
    """The transposed convolution that undoes :func:`_conv`'s halving."""
    layer = nn.utils.skip_init(
        nn.ConvTranspose2d,
        c_in,
        c_out,
        kernel,
        stride=2,
        padding=kernel // 2,
        output_padding=output_padding,
    )
    return _uniform_init(layer, c_in * kernel**2, generator)


def _halved(size, kernel):
    """Output size of :func:`_conv` on a map of ``size``."""
    padding = kernel // 2
    return (size + 2 * padding - kernel) // 2 + 1


def _output_padding(size_in, size_out, kernel):
    """``output_padding`` that makes :func:`_deconv` map ``size_in`` to ``size_out``."""
    return size_out - ((size_in - 1) * 2 - 2 * (kernel // 2) + kernel)


class ConvAutoencoder(nn.Module):
    """DCEC's convolutional autoencoder: stride-2 convolutions, then a linear
    embedding (Guo et al., 2017).

    For :class:`~skdec.DECClusterer` and :class:`~skdec.IDECClusterer` as
    ``module=ConvAutoencoder``, its parameters theirs as
    ``module__image_shape``, ``module__conv_channels`` and
    ``module__latent_dim``. Each width in ``conv_channels`` adds a
    convolution of stride 2 (5x5 kernels, 3x3 for the last, as in DCEC)
    with ReLU, which halves the map; the maps are flattened and a linear
    layer gives the embedding (no activation). The decoder mirrors it with
    a linear layer and transposed convolutions (ReLU everywhere except the
    reconstruction). ``decoder_layers[i]`` inverts ``encoder_layers[i]``, as
    in :class:`StackedAutoencoder`. It is pretrained end to end.

    Parameters
    ----------
    n_features : int
        Width of the input: the number of values of one image.

    image_shape : tuple of int
        ``(H, W)`` or ``(C, H, W)``: the rows of ``X`` are images flattened
        row-major in that order.

    conv_channels : tuple of int, default=(32, 64, 128)
        Output channels of the convolutions, one stride-2 convolution each
        (DCEC's widths).

    latent_dim : int, default=10
        Dimension of the embedding in which the clusters are formed.

    generator : torch.Generator or None, default=None
        Draws the initial weights; None draws them from torch's global
        generator. The estimators pass one seeded by their ``random_state``.

    Examples
    --------
    >>> import torch
    >>> from skdec.networks import ConvAutoencoder
    >>> net = ConvAutoencoder(64, image_shape=(8, 8), conv_channels=(8, 16))
    >>> net.encode(torch.zeros(5, 64)).shape
    torch.Size([5, 10])
    >>> net(torch.zeros(5, 64)).shape
    torch.Size([5, 64])
    """

    def __init__(
        self,
        n_features,
        image_shape,
        conv_channels=(32, 64, 128),
        latent_dim=10,
        *,
        generator=None,
    ):
        super().__init__()
        shape = check_image_shape(image_shape, check_width(n_features, "n_features"))
        self.image_shape = shape
        self.conv_channels = check_widths(conv_channels, "conv_channels")
        if not self.conv_channels:
            raise ValueError(
                "conv_channels must hold at least one width; StackedAutoencoder "
                "(module=None) is the fully connected autoencoder."
            )
        self.latent_dim = check_width(latent_dim, "latent_dim")
        n_channels, height, width = (1, *shape) if len(shape) == 2 else shape
        self._chw = (n_channels, height, width)
        kernels = [5] * (len(self.conv_channels) - 1) + [3]
        sizes = [(height, width)]
        encoder, decoder = [], []
        c_in = n_channels
        for c_out, kernel in zip(self.conv_channels, kernels, strict=True):
            h, w = sizes[-1]
            sizes.append((_halved(h, kernel), _halved(w, kernel)))
            padding = (
                _output_padding(sizes[-1][0], h, kernel),
                _output_padding(sizes[-1][1], w, kernel),
            )
            encoder.append(_conv(c_in, c_out, kernel, generator))
            decoder.append(_deconv(c_out, c_in, kernel, padding, generator))
            c_in = c_out
        self._code_shape = (c_in, *sizes[-1])
        n_code = c_in * sizes[-1][0] * sizes[-1][1]
        encoder.append(_linear(n_code, self.latent_dim, generator))
        decoder.append(_linear(self.latent_dim, n_code, generator))
        self.encoder_layers = nn.ModuleList(encoder)
        self.decoder_layers = nn.ModuleList(decoder)

    def encode(self, x):
        h = x.reshape(x.shape[0], *self._chw)
        for conv in self.encoder_layers[:-1]:
            h = F.relu(conv(h))
        return self.encoder_layers[-1](h.flatten(1))

    def decode(self, z):
        h = F.relu(self.decoder_layers[-1](z)).reshape(z.shape[0], *self._code_shape)
        for i in reversed(range(len(self.decoder_layers) - 1)):
            h = self.decoder_layers[i](h)
            if i > 0:
                h = F.relu(h)
        return h.flatten(1)

    def forward(self, x):
        return self.decode(self.encode(x))

    @torch.no_grad()
    def rescale_embedding(self, factor):
        """Multiply the embedding by ``factor`` without changing ``forward``."""
        self.encoder_layers[-1].weight.mul_(factor)
        self.encoder_layers[-1].bias.mul_(factor)
        self.decoder_layers[-1].weight.div_(factor)

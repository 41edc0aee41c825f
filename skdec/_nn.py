"""Torch modules of DEC: the stacked autoencoder and the clustering head.

Nothing here knows about scikit-learn or numpy; the estimator builds a fresh
module in every ``fit`` (as skorch does) so ``clone`` and ``set_params`` stay
cheap, and the training loops in :mod:`skdec._train` drive it.
"""

import math
from numbers import Integral, Real

import torch
from torch import nn
from torch.nn import functional as F

# ---------------------------------------------------------------------------
# Layers


def _linear(n_in, n_out, generator):
    """A ``Linear`` layer initialised from ``generator``.

    ``skip_init`` avoids drawing torch's default initialisation and then
    drawing again. The scheme is torch's own default (Kaiming-uniform with
    ``a=sqrt(5)``, i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and
    bias); a ``generator`` of None draws from torch's global generator, as
    any ``nn.Module`` does.
    """
    layer = nn.utils.skip_init(nn.Linear, n_in, n_out)
    bound = 1.0 / math.sqrt(n_in)
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound, generator=generator)
        layer.bias.uniform_(-bound, bound, generator=generator)
    return layer


def check_widths(widths, name):
    """``widths`` as a tuple of positive ints, or a ``TypeError``/``ValueError``."""
    try:
        widths = tuple(widths)
    except TypeError:
        raise TypeError(
            f"{name} must be a sequence of positive integers, got {widths!r}."
        ) from None
    for width in widths:
        if not isinstance(width, Integral) or isinstance(width, bool):
            raise TypeError(f"{name} must contain integers, got {width!r} in {widths}.")
        if width < 1:
            raise ValueError(
                f"{name} must contain positive widths, got {width} in {widths}."
            )
    return tuple(int(width) for width in widths)


def check_width(width, name):
    """``width`` as a positive int, or a ``TypeError``/``ValueError``."""
    if not isinstance(width, Integral) or isinstance(width, bool):
        raise TypeError(f"{name} must be a positive integer, got {width!r}.")
    if width < 1:
        raise ValueError(f"{name} must be a positive integer, got {width}.")
    return int(width)


def check_image_shape(image_shape, n_features, name="image_shape"):
    """``image_shape`` as a tuple ``(H, W)`` or ``(C, H, W)`` of ``n_features``."""
    shape = check_widths(image_shape, name)
    if len(shape) not in (2, 3):
        raise ValueError(f"{name} must be (H, W) or (C, H, W), got {image_shape!r}.")
    if math.prod(shape) != n_features:
        raise ValueError(
            f"{name}={shape} holds {math.prod(shape)} values but X has "
            f"{n_features} features; rows of X must be images flattened in "
            "(C, H, W) order."
        )
    return shape


# ---------------------------------------------------------------------------
# Student's t soft assignment and target distribution


def log_soft_assignment(z, centroids, alpha):
    """Log of DEC's Student's t soft assignment ``log q_ij``.

    ``q_ij ∝ (1 + ||z_i - mu_j||² / alpha) ** (-(alpha + 1) / 2)``, normalised
    over ``j``. Working in the log domain (``log1p`` then ``log_softmax``)
    keeps far-away points from underflowing to ``0 / 0``.
    """
    sq_dist = (z.unsqueeze(1) - centroids.unsqueeze(0)).pow(2).sum(dim=2)
    logits = -0.5 * (alpha + 1.0) * torch.log1p(sq_dist / alpha)
    return F.log_softmax(logits, dim=1)


def target_distribution(q, frequency=None):
    """DEC's sharpened target ``p_ij = (q_ij² / f_j) / sum_j' (q_ij'² / f_j')``.

    ``f_j = sum_i q_ij`` is the soft cluster frequency; dividing by it keeps
    large clusters from absorbing the others. ``f_j`` is floored so an
    empty cluster gives zeros, not NaN. ``frequency`` gives ``f`` computed
    elsewhere (over the rows of all ranks, in data-parallel training).
    """
    if frequency is None:
        frequency = q.sum(dim=0)
    frequency = frequency.clamp_min(torch.finfo(q.dtype).tiny)
    weight = q.pow(2) / frequency
    return weight / weight.sum(dim=1, keepdim=True)


def kl_divergence(p, log_q):
    """``KL(P || Q)`` averaged over the samples of the batch."""
    return F.kl_div(log_q, p, reduction="batchmean")


# ---------------------------------------------------------------------------
# Modules


class StackedAutoencoder(nn.Module):
    """DEC's stacked autoencoder: ``n_features-hidden_dims-latent_dim`` and back.

    The network :class:`~skdec.DECClusterer` and :class:`~skdec.IDECClusterer`
    train by default (``module=None``); its parameters are theirs as
    ``module__hidden_dims``, ``module__latent_dim`` and
    ``module__layerwise_dropout``. ReLU follows every layer except the
    embedding (the last encoder layer) and the reconstruction (the last
    decoder layer), as in the DEC paper. ``decoder_layers[i]`` inverts
    ``encoder_layers[i]``, so pair ``i`` is the denoising autoencoder trained
    at step ``i`` of layer-wise pretraining.

    Parameters
    ----------
    n_features : int
        Width of the input (and of the reconstruction).

    hidden_dims : tuple of int, default=(500, 500, 2000)
        Widths of the encoder's hidden layers; the decoder mirrors them. The
        default is the paper's ``d-500-500-2000-10`` network.

    latent_dim : int, default=10
        Dimension of the embedding in which the clusters are formed.

    layerwise_dropout : float in [0, 1) or None, default=None
        None pretrains the autoencoder end to end (DEC-keras); a rate
        pretrains it layer-wise with that dropout, as the paper does (0.2).
        Layer-wise, each encoder/decoder pair is trained in turn as a
        denoising autoencoder whose input and code are corrupted by dropout
        at this rate, then the whole stack end to end without dropout
        (:ref:`design-pretraining-end-to-end`).

    generator : torch.Generator or None, default=None
        Draws the initial weights; None draws them from torch's global
        generator. The estimators pass one seeded by their ``random_state``.

    Examples
    --------
    >>> import torch
    >>> from skdec.networks import StackedAutoencoder
    >>> net = StackedAutoencoder(64, hidden_dims=(32,), latent_dim=2)
    >>> net.dims
    (64, 32, 2)
    >>> net.encode(torch.zeros(5, 64)).shape
    torch.Size([5, 2])
    """

    def __init__(
        self,
        n_features,
        hidden_dims=(500, 500, 2000),
        latent_dim=10,
        layerwise_dropout=None,
        *,
        generator=None,
    ):
        super().__init__()
        self.dims = (
            check_width(n_features, "n_features"),
            *check_widths(hidden_dims, "hidden_dims"),
            check_width(latent_dim, "latent_dim"),
        )
        if layerwise_dropout is not None and not (
            isinstance(layerwise_dropout, Real)
            and not isinstance(layerwise_dropout, bool)
            and 0 <= layerwise_dropout < 1
        ):
            raise ValueError(
                "layerwise_dropout must be None (end-to-end pretraining) or a "
                f"rate in [0, 1), got {layerwise_dropout!r}."
            )
        self.layerwise_dropout = layerwise_dropout
        pairs = list(zip(self.dims[:-1], self.dims[1:], strict=True))
        self.encoder_layers = nn.ModuleList(
            _linear(n_in, n_out, generator) for n_in, n_out in pairs
        )
        self.decoder_layers = nn.ModuleList(
            _linear(n_out, n_in, generator) for n_in, n_out in pairs
        )

    @property
    def n_pairs(self):
        return len(self.encoder_layers)

    def encode_pair(self, i, x):
        """Encoder layer ``i`` with its activation (none for the embedding)."""
        h = self.encoder_layers[i](x)
        return h if i == self.n_pairs - 1 else F.relu(h)

    def decode_pair(self, i, h):
        """Decoder layer ``i`` with its activation (none for the output)."""
        x = self.decoder_layers[i](h)
        return x if i == 0 else F.relu(x)

    def encode(self, x, depth=None):
        """Embed ``x``; with ``depth``, stop after that many encoder layers."""
        for i in range(self.n_pairs if depth is None else depth):
            x = self.encode_pair(i, x)
        return x

    def decode(self, z):
        for i in reversed(range(self.n_pairs)):
            z = self.decode_pair(i, z)
        return z

    def forward(self, x):
        return self.decode(self.encode(x))

    @torch.no_grad()
    def rescale_embedding(self, factor):
        """Multiply the embedding by ``factor`` without changing ``forward``.

        The embedding layer's weights and bias are scaled by ``factor`` and
        the first decoder layer's weights by ``1 / factor``, so the
        reconstruction is the same (to rounding) while distances in the
        embedding are ``factor`` times larger.
        """
        self.encoder_layers[-1].weight.mul_(factor)
        self.encoder_layers[-1].bias.mul_(factor)
        self.decoder_layers[-1].weight.div_(factor)


class DECModule(nn.Module):
    """Autoencoder plus trainable centroids in its embedding space.

    ``forward`` returns ``(z, log_q)``. The decoder stays attached so that a
    reconstruction term (IDEC) can use it; DEC itself trains the encoder
    and the centroids only.
    """

    def __init__(self, autoencoder, centroids, alpha=1.0):
        super().__init__()
        self.autoencoder = autoencoder
        # A copy: training must not write into the caller's array (``init``).
        centroids = torch.as_tensor(centroids, dtype=torch.float32).clone()
        self.centroids = nn.Parameter(centroids)
        self.alpha = float(alpha)

    def forward(self, x):
        z = self.autoencoder.encode(x)
        return z, log_soft_assignment(z, self.centroids, self.alpha)

    def stage_parameters(self, reconstruction):
        """What the clustering stage trains: the encoder and the centroids,
        and the decoder too when the loss reconstructs (IDEC).

        A network without separate ``encoder_layers`` (a user's) gives all
        its parameters: those the loss does not reach get no gradient, and
        the optimiser leaves them as they are.
        """
        autoencoder = self.autoencoder
        if not hasattr(autoencoder, "encoder_layers"):
            return [*autoencoder.parameters(), self.centroids]
        parameters = [*autoencoder.encoder_layers.parameters(), self.centroids]
        if reconstruction:
            parameters += autoencoder.decoder_layers.parameters()
        return parameters

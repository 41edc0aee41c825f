"""Torch modules of DEC: the stacked autoencoder and the clustering head.

Nothing here knows about scikit-learn or numpy; the estimator builds a fresh
module in every ``fit`` (as skorch does) so ``clone`` and ``set_params`` stay
cheap, and the training loops in :mod:`skdec._train` drive it.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

# ---------------------------------------------------------------------------
# Layers


def _linear(n_in, n_out, generator):
    """A ``Linear`` layer initialised from ``generator``, not the global RNG.

    ``skip_init`` avoids drawing the default initialisation from torch's
    global generator, which would both waste work and disturb the user's
    random stream. The scheme is torch's own default (Kaiming-uniform with
    ``a=sqrt(5)``, i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and bias).
    Without a generator the weights are left uninitialised, for modules whose
    state is about to be loaded.
    """
    layer = nn.utils.skip_init(nn.Linear, n_in, n_out)
    if generator is None:
        return layer
    bound = 1.0 / math.sqrt(n_in)
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound, generator=generator)
        layer.bias.uniform_(-bound, bound, generator=generator)
    return layer


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
    """Symmetric fully connected autoencoder ``dims[0]-...-dims[-1]-...-dims[0]``.

    ReLU after every layer except the embedding (last encoder layer) and the
    reconstruction (last decoder layer), as in the DEC paper.
    ``decoder_layers[i]`` inverts ``encoder_layers[i]``, so pair ``i`` is the
    denoising autoencoder trained at step ``i`` of layer-wise pretraining.
    """

    def __init__(self, dims, *, generator=None):
        super().__init__()
        self.dims = tuple(int(d) for d in dims)
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

"""Torch modules and the objective of Invariant Information Clustering (IIC).

Nothing here knows about scikit-learn or numpy. The network is a backbone (a
small convolutional network for images, a multilayer perceptron for feature
vectors) shared by several linear heads that output cluster logits: ``n_heads``
main heads with ``n_clusters`` outputs and ``n_heads`` auxiliary
over-clustering heads with more outputs (Ji, Henriques & Vedaldi, 2019).
All weights are initialised from a :class:`torch.Generator`, never from
torch's global RNG.
"""

import math
import sys

import torch
from torch import nn
from torch.nn import functional as F

from ._batching import INFERENCE_BATCH_SIZE
from ._nn import _linear, check_image_shape, check_width, check_widths

# Floor of the joint distribution before taking logs, as in the reference
# implementation: an empty cell then adds ~0 instead of 0 * log 0 = NaN, and
# its gradient stays finite.
_EPS = sys.float_info.epsilon

# ---------------------------------------------------------------------------
# Objective


def joint_distribution(p1, p2):
    """Symmetrised joint distribution of the paired assignments of a batch.

    ``P = (1/n) sum_i p1_i p2_iᵀ``, then ``(P + Pᵀ) / 2``: the pair (sample,
    perturbed copy) is unordered.

    Parameters
    ----------
    p1, p2 : torch.Tensor of shape (..., n, k)
        Cluster probabilities of the samples and of their perturbed copies;
        rows sum to 1. Leading dimensions (e.g. one per head) are batched.

    Returns
    -------
    joint : torch.Tensor of shape (..., k, k)
        Non-negative, sums to 1, symmetric.
    """
    joint = p1.mT @ p2 / p1.shape[-2]
    return (joint + joint.mT) / 2


def mutual_information(joint, eps=_EPS):
    """Mutual information ``I(P) = sum P_cc' ln(P_cc' / (P_c P_c'))`` in nats.

    Cells are floored at ``eps`` (and the table renormalised) before the
    logarithms, and the marginals are taken from the floored table, so the
    value and its gradient stay finite when assignments are near one-hot or
    a cluster is empty. For a ``k x k`` table the result lies in
    ``[0, ln k]``.

    Parameters
    ----------
    joint : torch.Tensor of shape (..., k, k)
        Joint distribution (non-negative, sums to 1); leading dimensions are
        batched.

    eps : float, default=sys.float_info.epsilon
        Floor of the cells.

    Returns
    -------
    mi : torch.Tensor of shape (...)
        The mutual information.

    Examples
    --------
    >>> import torch
    >>> from skdec._iic_nn import mutual_information
    >>> round(float(mutual_information(torch.eye(4) / 4)), 4)  # ln 4
    1.3863
    >>> round(float(mutual_information(torch.full((4, 4), 1 / 16))), 4)
    0.0
    """
    joint = joint.clamp_min(eps)
    joint = joint / joint.sum(dim=(-2, -1), keepdim=True)
    row = joint.sum(dim=-1, keepdim=True)
    col = joint.sum(dim=-2, keepdim=True)
    return (joint * (joint.log() - row.log() - col.log())).sum(dim=(-2, -1))


def iic_loss(p1, p2):
    """IIC loss of a batch: minus the mutual information of its joint.

    Parameters
    ----------
    p1, p2 : torch.Tensor of shape (..., n, k)
        Cluster probabilities of the samples and of their perturbed copies;
        leading dimensions (e.g. one per head) are batched.

    Returns
    -------
    loss : torch.Tensor of shape (...)
        ``-I(P)``, between ``-ln k`` (best) and 0.
    """
    return -mutual_information(joint_distribution(p1, p2))


# ---------------------------------------------------------------------------
# Layers


def _conv3x3(c_in, c_out, generator):
    """A 3x3 ``Conv2d`` (padding 1) initialised from ``generator``.

    Same scheme as :func:`skdec._nn._linear`: torch's default
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn from ``generator`` (torch's
    global generator when None).
    """
    layer = nn.utils.skip_init(nn.Conv2d, c_in, c_out, 3, padding=1)
    bound = 1.0 / math.sqrt(c_in * 9)
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound, generator=generator)
        layer.bias.uniform_(-bound, bound, generator=generator)
    return layer


# ---------------------------------------------------------------------------
# Modules


class IICBackbone(nn.Module):
    """IIC's feature extractor, shared by all its heads.

    The network :class:`~skdec.IICClusterer` trains by default
    (``module=None``); its parameters are the estimator's as
    ``module__image_shape``, ``module__conv_channels`` and
    ``module__hidden_dims``. For images (``image_shape`` given), each width
    in ``conv_channels`` adds a block 3x3 convolution, batch normalisation,
    ReLU and 2x2 max-pooling (pooling only while the map is at least 2x2);
    the maps are then flattened. Each width in ``hidden_dims`` then adds a
    fully connected layer, batch normalisation and ReLU. ``out_dim`` is the
    width of the features the heads read.

    Parameters
    ----------
    n_features : int
        Width of the input rows.

    image_shape : tuple of int or None, default=None
        ``(H, W)`` or ``(C, H, W)`` when the rows are images flattened
        row-major in that order: the backbone is then convolutional, and
        IIC's default perturbation warps the images. None treats rows as
        plain feature vectors.

    conv_channels : tuple of int or None, default=None
        Output channels of the convolutional blocks; needs ``image_shape``.
        None is ``(16, 32)`` for images.

    hidden_dims : tuple of int, default=(128,)
        Widths of the fully connected layers: on the raw features, or after
        the convolutional blocks for images.

    generator : torch.Generator or None, default=None
        Draws the initial weights; None draws them from torch's global
        generator. The estimator passes one seeded by its ``random_state``.

    Examples
    --------
    >>> import torch
    >>> from skdec.networks import IICBackbone
    >>> backbone = IICBackbone(64, image_shape=(8, 8))
    >>> backbone.conv_channels, backbone.out_dim
    ((16, 32), 128)
    >>> backbone.eval()(torch.zeros(5, 64)).shape
    torch.Size([5, 128])
    """

    def __init__(
        self,
        n_features,
        image_shape=None,
        conv_channels=None,
        hidden_dims=(128,),
        *,
        generator=None,
    ):
        super().__init__()
        self.n_features = check_width(n_features, "n_features")
        if image_shape is None:
            if conv_channels:
                raise ValueError(
                    f"conv_channels={conv_channels!r} are the widths of the "
                    "convolutions over images: give their image_shape too."
                )
            self.image_shape, self.conv_channels = None, ()
        else:
            self.image_shape = check_image_shape(image_shape, self.n_features)
            self.conv_channels = (
                (16, 32)
                if conv_channels is None
                else check_widths(conv_channels, "conv_channels")
            )
        self.hidden_dims = check_widths(hidden_dims, "hidden_dims")

        layers = []
        width = self.n_features
        if self.image_shape is not None:
            channels, height, breadth = self._chw()
            for c_out in self.conv_channels:
                layers += [
                    _conv3x3(channels, c_out, generator),
                    nn.BatchNorm2d(c_out),
                    nn.ReLU(),
                ]
                if height >= 2 and breadth >= 2:
                    layers.append(nn.MaxPool2d(2))
                    height, breadth = height // 2, breadth // 2
                channels = c_out
            layers.append(nn.Flatten())
            width = channels * height * breadth
        for n_out in self.hidden_dims:
            layers += [
                _linear(width, n_out, generator),
                nn.BatchNorm1d(n_out),
                nn.ReLU(),
            ]
            width = n_out
        self.layers = nn.Sequential(*layers)
        self.out_dim = width

    def _chw(self):
        shape = self.image_shape
        return (1, *shape) if len(shape) == 2 else shape

    def forward(self, x):
        if self.image_shape is not None:
            x = x.reshape(x.shape[0], *self._chw())
        return self.layers(x)


class IICModule(nn.Module):
    """Backbone plus ``n_heads`` main and ``n_heads`` over-clustering heads.

    Each head is a linear layer giving cluster logits; the heads of a kind
    differ only by their initialisation. ``overcluster_heads`` is empty when
    ``n_overclusters`` is None.
    """

    def __init__(
        self, backbone, n_clusters, n_overclusters, n_heads, *, generator=None
    ):
        super().__init__()
        self.backbone = backbone
        self.main_heads = nn.ModuleList(
            _linear(backbone.out_dim, n_clusters, generator) for _ in range(n_heads)
        )
        self.overcluster_heads = nn.ModuleList(
            _linear(backbone.out_dim, n_overclusters, generator)
            for _ in range(n_heads if n_overclusters else 0)
        )

    def heads(self, kind):
        """The heads of ``kind``, "main" or "overcluster"."""
        return self.main_heads if kind == "main" else self.overcluster_heads

    def head_logits(self, kind, features):
        """Logits of every head of ``kind``, stacked: ``(n_heads, n, k)``."""
        return torch.stack([head(features) for head in self.heads(kind)])

    def forward(self, x, head=0):
        """Log cluster probabilities of main head ``head``."""
        return F.log_softmax(self.main_heads[head](self.backbone(x)), dim=1)


# ---------------------------------------------------------------------------
# Paired views and the heads' objective on a whole data set


def _perturbed(perturb, x, generator):
    """``perturb(x, generator)``, checked to be a tensor of the same shape."""
    out = perturb(x, generator)
    if not isinstance(out, torch.Tensor) or out.shape != x.shape:
        shape = getattr(out, "shape", type(out).__name__)
        raise ValueError(
            "perturbation must return a tensor of the shape of its input "
            f"{tuple(x.shape)}, got {shape}."
        )
    return out


def paired_features(module, x, perturb, n_repeats, generator):
    """Backbone features of ``x`` repeated ``n_repeats`` times and of copies.

    The clean rows go through the backbone once: repeating identical rows
    changes neither the features nor the batch-norm statistics.
    """
    x_repeated = x.repeat(n_repeats, 1)
    x_perturbed = _perturbed(perturb, x_repeated, generator)
    features = module.backbone(x).repeat(n_repeats, 1)
    return features, module.backbone(x_perturbed)


@torch.no_grad()
def heads_mutual_information(module, X, *, perturb, n_repeats, seed, device):
    """Mutual information of every main head on all of ``X`` (tensor).

    The joint distribution is accumulated over the whole data set, not per
    batch, and the perturbations come from a generator seeded with ``seed``,
    so the result depends only on the weights and ``X``.
    """
    module.eval()
    generator = torch.Generator(device=device).manual_seed(seed)
    joints = 0.0
    for start in range(0, len(X), INFERENCE_BATCH_SIZE):
        x = X[start : start + INFERENCE_BATCH_SIZE].to(device)
        features, features_perturbed = paired_features(
            module, x, perturb, n_repeats, generator
        )
        joints = joints + len(x) * joint_distribution(
            F.softmax(module.head_logits("main", features).double(), dim=-1),
            F.softmax(module.head_logits("main", features_perturbed).double(), dim=-1),
        )
    return mutual_information(joints / len(X)).cpu().numpy()

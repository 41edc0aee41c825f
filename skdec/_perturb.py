"""Random perturbations for Invariant Information Clustering (IIC).

IIC learns cluster assignments that a perturbation of the input does not
change, so the perturbations say what the clusters must be invariant to. A
perturbation is any callable ``perturb(x, generator) -> x_perturbed`` taking a
float32 tensor of shape ``(batch, n_features)`` (images flattened row-major,
as in ``X``) and a :class:`torch.Generator` on the device of ``x``, and
returning a tensor of the same shape. Every random draw here comes from that
generator, never from torch's global RNG, so a seeded generator gives the same
perturbation every time.

Images are warped with ``affine_grid``/``grid_sample`` (no torchvision).
"""

import math

import torch
from torch.nn import functional as F

# ---------------------------------------------------------------------------
# Building blocks


def affine_theta(angle, scale, shear, translation, *, height, width):
    """Sampling matrices for ``affine_grid`` from transform parameters.

    Parameters
    ----------
    angle, scale, shear : torch.Tensor of shape (n,)
        Rotation (radians), isotropic zoom factor and
        horizontal shear (radians) of the forward transform.

    translation : torch.Tensor of shape (n, 2)
        Shift ``(dx, dy)`` as fractions of the image width and height.

    height, width : int
        Image size; the transform is built in pixel units so that a rotation
        stays a rotation on non-square images.

    Returns
    -------
    theta : torch.Tensor of shape (n, 2, 3)
        The inverse of the forward transform, in the normalised coordinates
        that ``affine_grid`` expects (it maps output pixels to input pixels).
        Zero angle and shear, unit scale and zero translation give the
        identity.
    """
    cos, sin = torch.cos(angle), torch.sin(angle)
    # Forward linear part A = R(angle) @ Shear(shear) @ scale, in pixel units.
    tan = torch.tan(shear)
    a11 = scale * cos
    a12 = scale * (cos * tan - sin)
    a21 = scale * sin
    a22 = scale * (sin * tan + cos)
    det = a11 * a22 - a12 * a21
    # Inverse of A; then into normalised coordinates, where x spans the width
    # and y the height: M_norm = D^-1 A^-1 D with D = diag(width, height).
    inv11, inv12 = a22 / det, -a12 / det
    inv21, inv22 = -a21 / det, a11 / det
    ratio = height / width
    m11, m12 = inv11, inv12 * ratio
    m21, m22 = inv21 / ratio, inv22
    # A shift of t (fraction of the size) is 2t in normalised coordinates; the
    # sampling map undoes it: x_in = M (x_out - 2t).
    tx, ty = 2.0 * translation[:, 0], 2.0 * translation[:, 1]
    b1 = -(m11 * tx + m12 * ty)
    b2 = -(m21 * tx + m22 * ty)
    return torch.stack(
        [torch.stack([m11, m12, b1], dim=1), torch.stack([m21, m22, b2], dim=1)],
        dim=1,
    )


def warp_images(images, theta):
    """Warp a batch ``(n, C, H, W)`` with sampling matrices ``theta`` (n, 2, 3).

    Bilinear sampling, zeros outside the image. ``align_corners=False`` puts
    the identity grid exactly on the pixel centres, so the identity
    transform returns the images unchanged.
    """
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(
        images, grid, mode="bilinear", padding_mode="zeros", align_corners=False
    )


def _uniform(n, low, high, generator, device):
    """``n`` draws from U(low, high) taken from ``generator``."""
    u = torch.rand(n, generator=generator, device=device)
    return low + (high - low) * u


def add_noise(x, generator, *, noise_std=0.0, feature_dropout=0.0):
    """Zero each feature with probability ``feature_dropout``, add N(0, std²).

    Dropped features are not rescaled: the copy should look like the input
    with parts missing, not like a reweighted input.
    """
    if feature_dropout > 0:
        keep = torch.rand(x.shape, generator=generator, device=x.device)
        x = x * (keep >= feature_dropout)
    if noise_std > 0:
        noise = torch.randn(x.shape, generator=generator, device=x.device)
        x = x + noise_std * noise
    return x


# ---------------------------------------------------------------------------
# Default perturbations


class VectorPerturbation:
    """Gaussian noise and feature dropout for plain feature vectors.

    Parameters
    ----------
    noise_std : float, default=0.1
        Standard deviation of the additive Gaussian noise, in the units of
        the features.

    feature_dropout : float, default=0.1
        Probability that a feature is set to zero.

    Examples
    --------
    >>> import torch
    >>> from skdec._perturb import VectorPerturbation
    >>> perturb = VectorPerturbation(noise_std=0.1, feature_dropout=0.2)
    >>> x = torch.ones(4, 3)
    >>> perturb(x, torch.Generator().manual_seed(0)).shape
    torch.Size([4, 3])
    """

    def __init__(self, noise_std=0.1, feature_dropout=0.1):
        self.noise_std = noise_std
        self.feature_dropout = feature_dropout

    def __call__(self, x, generator):
        return add_noise(
            x, generator, noise_std=self.noise_std, feature_dropout=self.feature_dropout
        )

    def __repr__(self):
        return (
            f"VectorPerturbation(noise_std={self.noise_std}, "
            f"feature_dropout={self.feature_dropout})"
        )


class ImagePerturbation:
    """Random affine warps, then noise and pixel dropout, for flattened images.

    Each image gets its own rotation, zoom, shear and shift, drawn uniformly
    within the given ranges.

    Parameters
    ----------
    image_shape : tuple of int
        ``(H, W)`` or ``(C, H, W)``; rows of ``x`` are images flattened in
        that (row-major) order.

    rotation : float, default=15.0
        Largest rotation, in degrees, either way.

    scale : tuple of float, default=(0.9, 1.1)
        Range of the zoom factor.

    shear : float, default=10.0
        Largest horizontal shear angle, in degrees, either way.

    translation : float, default=0.1
        Largest shift, as a fraction of the image size, along each axis.

    noise_std : float, default=0.1
        Standard deviation of the Gaussian noise added after the warp.

    feature_dropout : float, default=0.0
        Probability that a pixel is set to zero after the warp.

    Examples
    --------
    >>> import torch
    >>> from skdec._perturb import ImagePerturbation
    >>> perturb = ImagePerturbation((8, 8))
    >>> x = torch.rand(5, 64)
    >>> perturb(x, torch.Generator().manual_seed(0)).shape
    torch.Size([5, 64])
    """

    def __init__(
        self,
        image_shape,
        *,
        rotation=15.0,
        scale=(0.9, 1.1),
        shear=10.0,
        translation=0.1,
        noise_std=0.1,
        feature_dropout=0.0,
    ):
        self.image_shape = image_shape
        self.rotation = rotation
        self.scale = scale
        self.shear = shear
        self.translation = translation
        self.noise_std = noise_std
        self.feature_dropout = feature_dropout

    def __call__(self, x, generator):
        shape = tuple(self.image_shape)
        channels, height, width = (1, *shape) if len(shape) == 2 else shape
        n, device = x.shape[0], x.device
        rotation = math.radians(self.rotation)
        shear = math.radians(self.shear)
        theta = affine_theta(
            _uniform(n, -rotation, rotation, generator, device),
            _uniform(n, *self.scale, generator, device),
            _uniform(n, -shear, shear, generator, device),
            _uniform((n, 2), -self.translation, self.translation, generator, device),
            height=height,
            width=width,
        )
        images = x.reshape(n, channels, height, width)
        warped = warp_images(images, theta.to(x.dtype)).reshape(n, -1)
        return add_noise(
            warped,
            generator,
            noise_std=self.noise_std,
            feature_dropout=self.feature_dropout,
        )

    def __repr__(self):
        return (
            f"ImagePerturbation({tuple(self.image_shape)}, rotation={self.rotation}, "
            f"scale={tuple(self.scale)}, shear={self.shear}, "
            f"translation={self.translation}, noise_std={self.noise_std}, "
            f"feature_dropout={self.feature_dropout})"
        )

"""DEC's formulas against independent numpy references and the paper's gradients."""

import numpy as np
import pytest
import torch

from skdec._nn import (
    StackedAutoencoder,
    kl_divergence,
    log_soft_assignment,
    target_distribution,
)


def _numpy_q(z, mu, alpha):
    sq = ((z[:, None, :] - mu[None, :, :]) ** 2).sum(-1)
    num = (1.0 + sq / alpha) ** (-(alpha + 1.0) / 2.0)
    return num / num.sum(1, keepdims=True)


def _numpy_p(q):
    w = q**2 / q.sum(0)
    return w / w.sum(1, keepdims=True)


@pytest.mark.parametrize("alpha", [0.5, 1.0, 3.0])
def test_soft_assignment_matches_numpy(alpha):
    rng = np.random.RandomState(0)
    z, mu = rng.randn(20, 4), rng.randn(5, 4) * 2
    q = log_soft_assignment(torch.tensor(z), torch.tensor(mu), alpha).exp().numpy()
    np.testing.assert_allclose(q, _numpy_q(z, mu, alpha), rtol=1e-10)
    np.testing.assert_allclose(q.sum(1), 1.0, rtol=1e-12)


def test_target_distribution_matches_numpy():
    rng = np.random.RandomState(1)
    q = _numpy_q(rng.randn(30, 3), rng.randn(4, 3), alpha=1.0)
    p = target_distribution(torch.tensor(q)).numpy()
    np.testing.assert_allclose(p, _numpy_p(q), rtol=1e-10)
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-12)


def test_soft_assignment_stays_finite_far_from_centroids():
    z = torch.tensor([[1e18, -1e18], [0.0, 0.0]], dtype=torch.float32)
    mu = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    q = log_soft_assignment(z, mu, 1.0).exp()
    assert torch.isfinite(q).all()
    torch.testing.assert_close(q.sum(1), torch.ones(2))


def test_target_distribution_with_an_empty_cluster_has_no_nan():
    q = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    p = target_distribution(q)
    assert torch.isfinite(p).all()
    torch.testing.assert_close(p, q)


@pytest.mark.parametrize("alpha", [1.0, 2.5])
def test_gradients_match_closed_form(alpha):
    """Autograd of KL(P||Q) equals the paper's dL/dz_i and dL/dmu_j (P fixed)."""
    rng = np.random.RandomState(2)
    z = torch.tensor(rng.randn(12, 3), requires_grad=True)
    mu = torch.tensor(rng.randn(4, 3), requires_grad=True)
    with torch.no_grad():
        p = target_distribution(log_soft_assignment(z, mu, alpha).exp())
    # The paper's loss is a sum over samples; batchmean divides by n.
    loss = kl_divergence(p, log_soft_assignment(z, mu, alpha)) * len(z)
    loss.backward()

    zn, mun, pn = z.detach().numpy(), mu.detach().numpy(), p.numpy()
    q = _numpy_q(zn, mun, alpha)
    diff = zn[:, None, :] - mun[None, :, :]  # z_i - mu_j
    kernel = 1.0 / (1.0 + (diff**2).sum(-1) / alpha)
    weight = ((alpha + 1.0) / alpha) * kernel * (pn - q)
    grad_z = (weight[:, :, None] * diff).sum(1)
    grad_mu = -(weight[:, :, None] * diff).sum(0)
    np.testing.assert_allclose(z.grad.numpy(), grad_z, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(mu.grad.numpy(), grad_mu, rtol=1e-8, atol=1e-12)


def test_kl_divergence_matches_numpy():
    rng = np.random.RandomState(3)
    q = _numpy_q(rng.randn(10, 2), rng.randn(3, 2), 1.0)
    p = _numpy_p(q)
    expected = (p * np.log(p / q)).sum() / len(p)
    got = kl_divergence(torch.tensor(p), torch.tensor(np.log(q))).item()
    assert got == pytest.approx(expected, rel=1e-10)


def test_rescale_embedding_keeps_the_reconstruction():
    autoencoder = StackedAutoencoder(
        6, (8,), 3, generator=torch.Generator().manual_seed(0)
    )
    x = torch.rand(20, 6, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        before_z, before_x = autoencoder.encode(x), autoencoder(x)
        autoencoder.rescale_embedding(4.0)
        after_z, after_x = autoencoder.encode(x), autoencoder(x)
    torch.testing.assert_close(after_z, 4.0 * before_z)
    torch.testing.assert_close(after_x, before_x)

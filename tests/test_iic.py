"""Tests of IICClusterer, its objective and its perturbations."""

import math
import pickle

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_digits, make_blobs
from sklearn.metrics import adjusted_rand_score, silhouette_score

from skdec._iic import IICClusterer
from skdec._iic_nn import iic_loss, joint_distribution, mutual_information
from skdec._perturb import (
    ImagePerturbation,
    VectorPerturbation,
    affine_theta,
    warp_images,
)
from skdec.callbacks import ProgressBar

from .conftest import TINY_IIC as TINY

# For the shared fit on separated blobs: fewer, larger batches.
BLOBS = {**TINY, "max_epochs": 20, "batch_size": 50}
# For tests where the quality of the clustering does not matter.
FAST = {**TINY, "max_epochs": 3}


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X[:300] / 16).astype(np.float32), y[:300]


# ---------------------------------------------------------------------------
# Objective


def _numpy_mutual_information(p1, p2):
    joint = p1.T @ p2 / len(p1)
    joint = (joint + joint.T) / 2
    row, col = joint.sum(axis=1), joint.sum(axis=0)
    return float(np.sum(joint * np.log(joint / np.outer(row, col))))


def test_loss_matches_numpy_reference():
    rng = np.random.RandomState(0)
    p1 = rng.dirichlet(np.ones(4), size=20)
    p2 = rng.dirichlet(np.ones(4), size=20)
    loss = iic_loss(torch.from_numpy(p1), torch.from_numpy(p2))
    assert float(loss) == pytest.approx(-_numpy_mutual_information(p1, p2), rel=1e-9)


def test_joint_distribution_is_symmetric_and_normalised():
    rng = np.random.RandomState(1)
    p1 = torch.from_numpy(rng.dirichlet(np.ones(3), size=7))
    p2 = torch.from_numpy(rng.dirichlet(np.ones(3), size=7))
    joint = joint_distribution(p1, p2)
    torch.testing.assert_close(joint, joint.T)
    assert float(joint.sum()) == pytest.approx(1.0)


@pytest.mark.parametrize("k", [2, 5, 10])
def test_mutual_information_is_ln_k_for_perfect_diagonal_joint(k):
    one_hot = torch.eye(k, dtype=torch.float64).repeat(3, 1)
    assert float(iic_loss(one_hot, one_hot)) == pytest.approx(-math.log(k), rel=1e-9)


def test_mutual_information_is_zero_for_independent_assignments():
    marginal = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    assert float(mutual_information(torch.outer(marginal, marginal))) == (
        pytest.approx(0.0, abs=1e-12)
    )
    # Assignments that ignore the sample: identical rows.
    rows = marginal.repeat(6, 1)
    assert float(iic_loss(rows, rows)) == pytest.approx(0.0, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    k=st.integers(2, 6),
    n=st.integers(1, 20),
    seed=st.integers(0, 2**31 - 1),
    concentration=st.floats(0.01, 10.0),
)
def test_mutual_information_lies_between_zero_and_ln_k(k, n, seed, concentration):
    rng = np.random.RandomState(seed)
    p1 = torch.from_numpy(rng.dirichlet(np.full(k, concentration), size=n))
    p2 = torch.from_numpy(rng.dirichlet(np.full(k, concentration), size=n))
    mi = float(mutual_information(joint_distribution(p1, p2)))
    assert -1e-9 <= mi <= math.log(k) + 1e-9


def test_mutual_information_is_batched_over_leading_dimensions():
    rng = np.random.RandomState(2)
    p1 = torch.from_numpy(rng.dirichlet(np.ones(3), size=(4, 9)))
    p2 = torch.from_numpy(rng.dirichlet(np.ones(3), size=(4, 9)))
    batched = iic_loss(p1, p2)
    assert batched.shape == (4,)
    for i in range(4):
        assert float(batched[i]) == pytest.approx(float(iic_loss(p1[i], p2[i])))


def test_gradients_are_finite_for_near_zero_probabilities():
    # Logits this far apart give probabilities that underflow to exactly 0,
    # and one cluster that no sample uses.
    logits = torch.tensor(
        [[200.0, -200.0, -200.0], [-200.0, 200.0, -200.0]] * 4, requires_grad=True
    )
    probabilities = torch.softmax(logits, dim=1)
    assert (probabilities == 0).any()
    loss = iic_loss(probabilities, probabilities)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(logits.grad).all()


# ---------------------------------------------------------------------------
# Perturbations


def _seeded(seed):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize(
    "perturb, n_features",
    [
        (VectorPerturbation(noise_std=0.1, feature_dropout=0.2), 7),
        (ImagePerturbation((6, 5)), 30),
        (ImagePerturbation((3, 4, 4), feature_dropout=0.1), 48),
    ],
)
def test_perturbation_shape_and_determinism(perturb, n_features):
    x = torch.rand(9, n_features, generator=_seeded(0))
    first = perturb(x, _seeded(1))
    assert first.shape == x.shape
    assert first.dtype == x.dtype
    torch.testing.assert_close(perturb(x, _seeded(1)), first, rtol=0, atol=0)
    assert not torch.equal(perturb(x, _seeded(2)), first)
    assert not torch.equal(first, x)


def test_perturbation_leaves_global_rng_alone():
    x = torch.rand(3, 16, generator=_seeded(0))
    state = torch.get_rng_state()
    ImagePerturbation((4, 4), feature_dropout=0.1)(x, _seeded(1))
    assert torch.equal(torch.get_rng_state(), state)


def test_null_vector_perturbation_is_identity():
    x = torch.rand(5, 4, generator=_seeded(0))
    out = VectorPerturbation(noise_std=0.0, feature_dropout=0.0)(x, _seeded(0))
    torch.testing.assert_close(out, x, rtol=0, atol=0)


@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 5, 7)])
def test_affine_with_identity_parameters_is_identity(shape):
    images = torch.rand(4, *shape, generator=_seeded(0))
    zeros = torch.zeros(4)
    theta = affine_theta(
        zeros, torch.ones(4), zeros, torch.zeros(4, 2), height=shape[1], width=shape[2]
    )
    torch.testing.assert_close(theta, torch.eye(2, 3).expand(4, 2, 3))
    torch.testing.assert_close(warp_images(images, theta), images)


def test_image_perturbation_with_null_ranges_is_identity():
    perturb = ImagePerturbation(
        (5, 6), rotation=0, scale=(1, 1), shear=0, translation=0, noise_std=0
    )
    x = torch.rand(3, 30, generator=_seeded(0))
    torch.testing.assert_close(perturb(x, _seeded(0)), x)


def test_affine_shift_by_one_pixel_moves_the_image_right():
    images = torch.rand(1, 1, 4, 5, generator=_seeded(0))
    theta = affine_theta(
        torch.zeros(1),
        torch.ones(1),
        torch.zeros(1),
        torch.tensor([[1 / 5, 0.0]]),
        height=4,
        width=5,
    )
    shifted = warp_images(images, theta)
    torch.testing.assert_close(shifted[..., 1:], images[..., :-1])
    torch.testing.assert_close(shifted[..., 0], torch.zeros(1, 1, 4))


def test_affine_quarter_turn_is_a_pixel_rotation():
    images = torch.rand(2, 1, 6, 6, generator=_seeded(0))
    theta = affine_theta(
        torch.full((2,), math.pi / 2),
        torch.ones(2),
        torch.zeros(2),
        torch.zeros(2, 2),
        height=6,
        width=6,
    )
    rotated = warp_images(images, theta)
    assert any(
        torch.allclose(rotated, torch.rot90(images, k, dims=(2, 3)), atol=1e-5)
        for k in (1, 3)
    )


# ---------------------------------------------------------------------------
# Estimator


@pytest.fixture(scope="module")
def fitted():
    X, y = make_blobs(
        n_samples=150, centers=3, n_features=6, cluster_std=0.5, random_state=0
    )
    X = ((X - X.min(0)) / (X.max(0) - X.min(0))).astype(np.float32)
    return X, y, IICClusterer(n_clusters=3, **BLOBS, random_state=0).fit(X)


def test_separated_blobs_are_found(fitted):
    X, y, iic = fitted
    assert adjusted_rand_score(y, iic.labels_) > 0.9


def test_predict_is_argmax_of_predict_proba(fitted):
    X, _, iic = fitted
    proba = iic.predict_proba(X)
    assert proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(iic.predict(X), proba.argmax(axis=1))
    np.testing.assert_array_equal(iic.labels_, iic.predict(X))
    np.testing.assert_array_equal(iic.transform(X), proba)
    assert list(iic.get_feature_names_out()) == [f"iicclusterer{i}" for i in range(3)]


def test_history_has_per_head_losses(fitted):
    _, _, iic = fitted
    history = iic.history_
    stages = [record["stage"] for record in history]
    assert stages[:-1] == ["overcluster", "main"] * BLOBS["max_epochs"]
    assert stages[-1] == "head_selection"
    for record in history[:-1]:
        assert len(record["head_losses"]) == BLOBS["n_heads"]
        assert record["loss"] == pytest.approx(np.mean(record["head_losses"]))
    assert history[-1]["loss"] == min(history[-1]["head_losses"])
    assert iic.n_epochs_ == BLOBS["max_epochs"]
    # n_iter_ counts optimisation steps: two passes of ceil(n / batch) per epoch.
    steps_per_pass = -(-len(iic.labels_) // BLOBS["batch_size"])
    assert iic.n_iter_ == BLOBS["max_epochs"] * 2 * steps_per_pass


def test_chosen_head_has_the_lowest_final_loss(fitted):
    _, _, iic = fitted
    selection = iic.history_[-1]
    assert iic.chosen_head_ == selection["chosen_head"]
    assert iic.chosen_head_ == int(np.argmin(selection["head_losses"]))


def test_head_selection_ignores_labels(fitted):
    X, y, _ = fitted
    iic = IICClusterer(n_clusters=3, **FAST, random_state=0).fit(X)
    with_labels = IICClusterer(n_clusters=3, **FAST, random_state=0).fit(X, y)
    assert with_labels.chosen_head_ == iic.chosen_head_
    np.testing.assert_array_equal(with_labels.labels_, iic.labels_)


def test_mutual_information_of_the_chosen_head(fitted):
    X, _, iic = fitted
    mi = iic.mutual_information(X)
    assert 0 <= mi <= math.log(3)
    assert iic.mutual_information(X) == mi
    # The selection record holds the same quantity, computed during fit.
    assert mi == pytest.approx(-iic.history_[-1]["loss"], rel=1e-6)


def test_score_is_the_silhouette_of_the_probabilities(fitted):
    X, _, iic = fitted
    expected = silhouette_score(iic.transform(X), iic.predict(X))
    assert iic.score(X) == pytest.approx(expected)


def test_same_random_state_same_labels_and_global_rng_untouched(fitted):
    X, _, _ = fitted
    iic = IICClusterer(n_clusters=3, **FAST, random_state=0).fit(X)
    torch_state = torch.get_rng_state()
    numpy_state = np.random.get_state()[1].copy()  # noqa: NPY002
    again = IICClusterer(n_clusters=3, **FAST, random_state=0).fit(X)
    np.testing.assert_array_equal(again.labels_, iic.labels_)
    np.testing.assert_array_equal(again.predict_proba(X), iic.predict_proba(X))
    assert torch.equal(torch.get_rng_state(), torch_state)
    legacy_state = np.random.get_state()[1]  # noqa: NPY002
    np.testing.assert_array_equal(legacy_state, numpy_state)
    other = IICClusterer(n_clusters=3, **FAST, random_state=1).fit(X)
    assert not np.array_equal(other.predict_proba(X), iic.predict_proba(X))


def test_pickle_round_trip(fitted):
    X, _, iic = fitted
    restored = pickle.loads(pickle.dumps(iic))
    np.testing.assert_array_equal(restored.predict_proba(X), iic.predict_proba(X))
    assert restored.score(X) == iic.score(X)


def test_save_load_round_trip(fitted, tmp_path):
    pytest.importorskip("skdec._persist")
    X, _, iic = fitted
    path = tmp_path / "iic.npz"
    iic.save(path)
    restored = IICClusterer.load(path)
    np.testing.assert_array_equal(restored.predict_proba(X), iic.predict_proba(X))
    np.testing.assert_array_equal(restored.labels_, iic.labels_)
    assert restored.chosen_head_ == iic.chosen_head_
    assert restored.history_ == iic.history_
    assert restored.score(X) == pytest.approx(iic.score(X))


def test_save_refuses_callable_perturbation(fitted, tmp_path):
    X, _, _ = fitted
    iic = IICClusterer(
        n_clusters=3, **{**FAST, "max_epochs": 1}, perturbation=VectorPerturbation()
    ).fit(X)
    with pytest.raises(ValueError, match="callable cannot be stored"):
        iic.save(tmp_path / "iic.npz")


def test_module_config_rebuilds_the_same_state_keys(fitted, digits):
    _, _, iic = fitted
    X, _ = digits
    image_iic = IICClusterer(
        n_clusters=3,
        module__image_shape=(8, 8),
        module__conv_channels=(4,),
        **{**FAST, "max_epochs": 1},
        random_state=0,
    ).fit(X)
    for estimator in (iic, image_iic):
        config = estimator._module_config()
        rebuilt = IICClusterer._build_module(config)
        assert rebuilt.state_dict().keys() == estimator.module_.state_dict().keys()
        rebuilt.load_state_dict(estimator.module_.state_dict())
        assert not rebuilt.training


def test_overclustering_heads_can_be_switched_off(fitted):
    X, _, _ = fitted
    iic = IICClusterer(
        n_clusters=3, **{**FAST, "overcluster_factor": None}, random_state=0
    ).fit(X)
    assert {record["stage"] for record in iic.history_} == {"main", "head_selection"}
    assert len(iic.module_.overcluster_heads) == 0


# -- images ---------------------------------------------------------------


@pytest.mark.parametrize("image_shape", [(8, 8), (1, 8, 8)])
def test_images_use_a_convolutional_backbone(digits, image_shape):
    X, _ = digits
    iic = IICClusterer(
        n_clusters=4,
        module__image_shape=image_shape,
        module__conv_channels=(4, 8),
        **{**FAST, "max_epochs": 1},
        random_state=0,
    ).fit(X)
    assert any(isinstance(m, torch.nn.Conv2d) for m in iic.module_.modules())
    assert iic.predict_proba(X[:5]).shape == (5, 4)
    # Each row's result does not depend on which rows share its batch.
    np.testing.assert_allclose(
        iic.predict_proba(X[:1]), iic.predict_proba(X)[:1], rtol=1e-5, atol=1e-6
    )


def test_image_shape_must_match_n_features(digits):
    X, _ = digits
    with pytest.raises(ValueError, match="holds 49 values but X has 64"):
        IICClusterer(module__image_shape=(7, 7), **FAST).fit(X)
    with pytest.raises(ValueError, match="image_shape must be"):
        IICClusterer(module__image_shape=(64,), **FAST).fit(X)


def test_images_get_the_image_perturbation(digits):
    X, _ = digits
    iic = IICClusterer(
        n_clusters=3, module__image_shape=(8, 8), **{**FAST, "max_epochs": 0}
    ).fit(X)
    assert isinstance(iic._perturbation(iic.module_.backbone), ImagePerturbation)
    vectors = IICClusterer(n_clusters=3, **{**FAST, "max_epochs": 0}).fit(X)
    assert isinstance(
        vectors._perturbation(vectors.module_.backbone), VectorPerturbation
    )


# -- parameters and callables -----------------------------------------------


def test_custom_perturbation_is_called_with_a_generator(fitted):
    X, _, _ = fitted
    calls = []

    def perturb(x, generator):
        calls.append((x.shape, isinstance(generator, torch.Generator)))
        return x + 0.05 * torch.randn(x.shape, generator=generator)

    iic = IICClusterer(
        n_clusters=3, **FAST, n_repeats=2, perturbation=perturb, random_state=0
    )
    labels = iic.fit_predict(X)
    assert calls and all(is_generator for _, is_generator in calls)
    assert all(shape[1] == X.shape[1] for shape, _ in calls)
    assert calls[0][0][0] == 2 * FAST["batch_size"]
    np.testing.assert_array_equal(iic.fit_predict(X), labels)


@pytest.mark.parametrize(
    "bad_output", [lambda x: x[:, :1], lambda x: x.numpy()], ids=["shape", "numpy"]
)
def test_perturbation_with_wrong_output_is_rejected(fitted, bad_output):
    X, _, _ = fitted
    iic = IICClusterer(n_clusters=3, **FAST, perturbation=lambda x, g: bad_output(x))
    with pytest.raises(ValueError, match="perturbation must return a tensor"):
        iic.fit(X)


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"module__hidden_dims": (8, 0)}, ValueError, "hidden_dims must contain posit"),
        ({"module__hidden_dims": (8, 2.5)}, TypeError, "hidden_dims must contain inte"),
        (
            {"module__image_shape": (2, 3), "module__conv_channels": 3},
            TypeError,
            "conv_channels must be a sequence",
        ),
        ({"n_heads": 0}, ValueError, "n_heads"),
        ({"batch_size": 1}, ValueError, "batch_size"),
        ({"feature_dropout": 1.0}, ValueError, "feature_dropout"),
        ({"perturbation": "noise"}, ValueError, "perturbation"),
        ({"device": "tpu"}, ValueError, "device='tpu'"),
    ],
)
def test_invalid_parameters_are_named(fitted, params, error, match):
    X, _, _ = fitted
    with pytest.raises(error, match=match):
        IICClusterer(n_clusters=3, **{**FAST, **params}).fit(X)


def test_too_few_samples_is_an_error():
    with pytest.raises(ValueError, match="n_samples=3 should be >="):
        IICClusterer(n_clusters=4, **FAST).fit(np.zeros((3, 2)))


def test_interrupted_fit_keeps_the_previous_fit(fitted):
    X, _, _ = fitted
    iic = IICClusterer(n_clusters=3, **FAST, random_state=0).fit(X)
    labels, module = iic.labels_.copy(), iic.module_

    def interrupt(x, generator):
        raise KeyboardInterrupt

    iic.set_params(perturbation=interrupt)
    with pytest.raises(KeyboardInterrupt):
        iic.fit(X[:50])
    assert iic.module_ is module
    np.testing.assert_array_equal(iic.labels_, labels)
    assert iic.n_features_in_ == X.shape[1]


def test_progress_bar_callback_shows_progress(fitted, capsys):
    X, _, _ = fitted
    bar = ProgressBar()
    IICClusterer(n_clusters=3, **{**FAST, "max_epochs": 1}, callbacks=[bar]).fit(X)
    assert "IIC" in capsys.readouterr().err

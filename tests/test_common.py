"""Every scikit-learn common check, on a tiny network."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skdec import DECClusterer, IDECClusterer

from .conftest import TINY


@parametrize_with_checks(
    [
        DECClusterer(**TINY, random_state=0),
        # The default pretraining optimiser too (TINY's narrow net uses Adam).
        DECClusterer(**{**TINY, "pretrain_optimizer": "sgd"}, random_state=0),
        IDECClusterer(**TINY, random_state=0),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)

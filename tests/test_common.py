"""Every scikit-learn common check, on a tiny network of each estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skdec import DECClusterer

from .conftest import TINY, tiny_estimators


@parametrize_with_checks(
    [
        *tiny_estimators(),
        # The default pretraining optimiser too (TINY's narrow net uses Adam).
        DECClusterer(**{**TINY, "pretrain_optimizer": "sgd"}, random_state=0),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)

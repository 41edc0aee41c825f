"""Every scikit-learn common check, on a tiny network of each estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skdec import DECClusterer

from .conftest import TINY, tiny_estimators

# scikit-learn's sparse checks read ``classifier_tags.multi_class`` whenever
# an estimator has predict_proba, and a clusterer has no classifier tags, so
# they fail with AttributeError after fit and predict on sparse data have
# succeeded. Sparse input is tested in tests/test_streaming.py.
_SPARSE_CHECK_REASON = (
    "the check assumes predict_proba belongs to a classifier; sparse input is "
    "tested in tests/test_streaming.py"
)
EXPECTED_FAILED_CHECKS = {
    "check_estimator_sparse_array": _SPARSE_CHECK_REASON,
    "check_estimator_sparse_matrix": _SPARSE_CHECK_REASON,
}


@parametrize_with_checks(
    [
        *tiny_estimators(),
        # The default pretraining optimiser too (TINY's narrow net uses Adam).
        DECClusterer(**{**TINY, "pretrain_optimizer": "sgd"}, random_state=0),
    ],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)

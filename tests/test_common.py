"""Every scikit-learn common check, on a tiny network of each estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skdec import DECClusterer

from .conftest import TINY, TINY_FIT, TinyAutoencoder, tiny_estimators

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
# Every estimator takes module__<name> parameters for its module through
# **module__params (skorch's convention): get_params and set_params treat
# them as parameters, but __init__'s signature cannot list them.
_MODULE_PARAMS_CHECKS = {
    "check_no_attributes_set_in_init": (
        "module__<name> parameters are stored by __init__ but are not in its "
        "signature; get_params returns them, so clone keeps them"
    ),
}


def _expected_failed_checks(estimator):
    checks = dict(EXPECTED_FAILED_CHECKS)
    if any(name.startswith("module__") for name in estimator.get_params()):
        checks.update(_MODULE_PARAMS_CHECKS)
    return checks


@parametrize_with_checks(
    [
        *tiny_estimators(),
        # The default pretraining optimiser too (TINY's narrow net uses Adam).
        DECClusterer(**{**TINY, "pretrain_optimizer": "sgd"}, random_state=0),
        # A user's network, with a module__ parameter.
        DECClusterer(
            **TINY_FIT, module=TinyAutoencoder, module__width=8, random_state=0
        ),
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)

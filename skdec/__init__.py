"""skdec: Deep Embedded Clustering for scikit-learn, on PyTorch."""

from ._dec import DECClusterer
from ._idec import IDECClusterer
from ._iic import IICClusterer
from ._select_k import select_n_clusters

__version__ = "0.1.0"

__all__ = [
    "DECClusterer",
    "IDECClusterer",
    "IICClusterer",
    "select_n_clusters",
    "__version__",
]

"""skdec: Deep Embedded Clustering for scikit-learn, on PyTorch."""

from ._dec import DECClusterer

__version__ = "0.1.0"

__all__ = ["DECClusterer", "__version__"]

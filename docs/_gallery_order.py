"""Order of the gallery: from the quick start to the diagnostics."""

from sphinx_gallery.sorting import FileNameSortKey

_ORDER = [
    "plot_quickstart.py",
    "plot_compare_baselines.py",
    "plot_choose_n_clusters.py",
    "plot_embedding.py",
    "plot_training_history.py",
]


class ExampleOrder(FileNameSortKey):
    """The listed examples first, in the listed order; the others by name."""

    def __call__(self, filename):
        if filename in _ORDER:
            return (0, _ORDER.index(filename), "")
        return (1, 0, filename)

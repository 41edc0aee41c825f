"""The fit's history and the calls to its callbacks, in one object.

The training loops append their records through :meth:`Hooks.record`, which
also tells the callbacks (:mod:`skdec.callbacks`) and returns whether one
asked to end the stage. Data-parallel, the ranks agree on that answer, so
every rank leaves the stage at the same step.
"""

import copy
import inspect

from .callbacks import Callback

# The methods the training loops call, in the order of a fit.
CALLBACK_METHODS = tuple(name for name in vars(Callback) if name.startswith("on_"))

# ---------------------------------------------------------------------------
# Validation


def _describe(callback, index):
    """``callbacks[index]`` and what it is, to name a refused callback.

    By the class's or function's name where the repr would be an address.
    """
    if inspect.isclass(callback):
        text = f"the class {callback.__name__}"
    elif inspect.isroutine(callback):
        text = f"the function {callback.__name__}"
    elif type(callback).__repr__ is object.__repr__:
        text = f"an instance of {type(callback).__name__}"
    else:
        text = repr(callback)
        text = text if len(text) <= 60 else text[:57] + "..."
    return f"callbacks[{index}] ({text})"


def _check_callback(callback, index):
    """Raise a ``TypeError``/``ValueError`` if ``callback`` would be ignored.

    The loops look methods up by name and skip a callback without them, so a
    misspelt method (``on_recrod``), a function or a string would otherwise
    never be called and never say so.
    """
    where = _describe(callback, index)
    methods = ", ".join(CALLBACK_METHODS)
    if inspect.isclass(callback):
        raise TypeError(
            f"{where}: pass an instance, {callback.__name__}(), not the class."
        )
    unknown = [
        name
        for name in dir(callback)
        if name.startswith("on_") and name not in CALLBACK_METHODS
    ]
    if unknown:
        raise ValueError(
            f"{where} defines {', '.join(unknown)}, which the training loops "
            f"never call; a callback's on_* names must be among {methods} "
            "(see skdec.callbacks.Callback)."
        )
    present = [name for name in CALLBACK_METHODS if hasattr(callback, name)]
    for name in present:
        value = getattr(callback, name)
        if not callable(value):
            raise TypeError(f"{where}: {name} must be a method, got {value!r}.")
    if not present:
        hint = (
            " A function is not one: make it a method of an object."
            if inspect.isroutine(callback)
            else ""
        )
        raise TypeError(
            f"{where} is not a callback: a callback is an object with one or "
            f"more of the methods {methods} (see skdec.callbacks.Callback).{hint}"
        )


def check_callbacks(callbacks):
    """``callbacks`` as a list, each item checked, or a TypeError/ValueError."""
    if callbacks is None:
        return []
    # As the estimators' ``_parameter_constraints`` say; they refuse other
    # containers before a fit starts, this guards direct use.
    if not isinstance(callbacks, list):
        raise TypeError(
            "callbacks must be a list of callback objects or None, got "
            f"{type(callbacks).__name__}."
        )
    for index, callback in enumerate(callbacks):
        _check_callback(callback, index)
    return list(callbacks)


# ---------------------------------------------------------------------------
# Hooks


class Hooks:
    """History records and callback calls of one fit.

    Parameters
    ----------
    estimator : estimator
        Passed to every callback.
    callbacks : list or None
        The estimator's ``callbacks``, checked here (before any training):
        an item that the loops would silently never call raises.
    comm : Comm or LocalComm
        Agrees the ranks' stop decisions and their callbacks' check.
    history : list, optional
        Where records go (a new list by default).

    Raises
    ------
    TypeError
        If ``callbacks`` is not a list or None, or an item is a class,
        has a non-callable callback method or has none of them.
    ValueError
        If an item has an ``on_*`` attribute that is not a callback method
        (a misspelt method, which would never be called).
    """

    def __init__(self, estimator, callbacks, comm, history=None):
        self.estimator = estimator
        # Data-parallel, a bad callback on one rank fails every rank here,
        # instead of leaving the others waiting in the fit's first collective.
        error = None
        try:
            callbacks = check_callbacks(callbacks)
        except (TypeError, ValueError) as exc:
            error = exc
        comm.raise_if_any_failed(error)
        self.callbacks = callbacks
        self.comm = comm
        self.history = [] if history is None else history
        # Stages a callback skipped or ended: what such a stage left is not
        # the parameters' result alone, so ``memory`` does not keep it.
        self.stops = 0

    def fork(self):
        """Hooks with the same callbacks that record into a new history.

        For work whose records may not all be kept (the candidates of the
        ``n_clusters`` search): the callbacks see them all.
        """
        # A copy, not a new Hooks: the callbacks are checked once per fit.
        forked = copy.copy(self)
        forked.history, forked.stops = [], 0
        return forked

    def wants(self, name):
        """Whether any callback defines ``name`` (to skip building its state)."""
        return any(callable(getattr(cb, name, None)) for cb in self.callbacks)

    def call(self, name, *args, **kwargs):
        """Call ``name`` on every callback that has it; True if any returned True.

        Every callback is called, even after one has asked to stop, so that
        recorders see every event.
        """
        stop = False
        for callback in self.callbacks:
            method = getattr(callback, name, None)
            if callable(method) and method(self.estimator, *args, **kwargs) is True:
                stop = True
        return stop

    def _agreed(self, stop):
        """Whether any rank stops. Every rank takes part, with or without
        callbacks of its own, so the ranks' collectives stay in step."""
        if self.comm.world_size > 1:
            stop = self.comm.max(float(stop)) > 0
        self.stops += bool(stop)
        return stop

    def record(self, record, **state):
        """Append ``record`` to the history; True if a callback ends the stage."""
        self.history.append(record)
        stop = bool(self.callbacks) and self.call("on_record", record, **state)
        return self._agreed(stop)

    def stage_begin(self, stage, **state):
        """True if a callback skips ``stage``."""
        stop = bool(self.callbacks) and self.call("on_stage_begin", stage, **state)
        return self._agreed(stop)

    def stage_end(self, stage, **state):
        if self.callbacks:
            self.call("on_stage_end", stage, **state)

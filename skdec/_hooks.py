"""The fit's history and the calls to its callbacks, in one object.

The training loops append their records through :meth:`Hooks.record`, which
also tells the callbacks (:mod:`skdec.callbacks`) and returns whether one
asked to end the stage. Data-parallel, the ranks agree on that answer, so
every rank leaves the stage at the same step.
"""


class Hooks:
    """History records and callback calls of one fit.

    Parameters
    ----------
    estimator : estimator
        Passed to every callback.
    callbacks : list or None
        The estimator's ``callbacks``.
    comm : Comm or LocalComm
        Agrees the ranks' stop decisions.
    history : list, optional
        Where records go (a new list by default).
    """

    def __init__(self, estimator, callbacks, comm, history=None):
        self.estimator = estimator
        self.callbacks = list(callbacks or ())
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
        return Hooks(self.estimator, self.callbacks, self.comm)

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

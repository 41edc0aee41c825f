"""Every training loop: autoencoder pretraining, DEC's clustering stage, IIC.

Every function is keyword-only, works on float32 tensors (on the compute
device, or on the host when the data would not fit there) and reports each
history record through ``hooks`` (:class:`skdec._hooks.Hooks`), which tells
the estimator's callbacks and says when one of them ends the stage.
Data-parallel statistics go through ``comm`` (a ``Comm``, or a
``LocalComm`` for one process). Randomness comes only from the
``generator`` passed in, never from torch's global RNG. Losses are
accumulated on the device and read back once per epoch, so the loops do not
synchronise with the host at every step.
"""

import time
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from ._batching import (
    INFERENCE_BATCH_SIZE,
    endless_minibatches,
    map_batches,
    minibatches,
    take_rows,
)
from ._data import mean_square
from ._iic_nn import iic_loss, paired_features
from ._nn import kl_divergence, target_distribution

# Gradient-norm clip of the reconstruction losses (SGD pretraining at
# DEC-keras' learning rate 1.0, IDEC's clustering stage): their gradient grows
# with the square of the input's scale, and unscaled data would make SGD
# diverge. On data in [0, 1] the clip does not bind.
_MAX_GRAD_NORM = 1.0

# SGD's "auto" pretraining rate is lowered so that rate x mean(X²) stays at
# most this: the squared error's gradient grows with the data's power, so
# images in [0, 1] keep DEC-keras' rate 1.0 and standardised data gets 0.25.
_MAX_SGD_RATE_TIMES_POWER = 0.25

# pretrain_batch_size="auto" and pretrain_epochs="auto": DEC-keras' 200
# epochs of 256 rows, ended early once the reconstruction loss has levelled
# off: when the best epoch loss of the last PLATEAU_STEPS steps (in whole
# epochs) is less than PLATEAU_TOL below the best before them. Best against
# best, so one noisy epoch (SGD at rate 1.0 has them) never ends the stage.
# The window is counted in steps, so large data, whose epochs hold many
# steps, can stop after a few epochs, while small data trains the paper's
# 200 unless its loss stops falling (design notes,
# design-pretraining-plateau).
PAPER_PRETRAINING = (256, 200)  # rows per batch, epochs
PLATEAU_STEPS = 1000
PLATEAU_TOL = 0.01


def _corrupt(x, rate, generator):
    """Dropout noise drawn from ``generator`` (``nn.Dropout`` uses global RNG)."""
    if rate == 0:
        return x
    keep = torch.rand(x.shape, generator=generator, device=x.device) >= rate
    return x * keep / (1.0 - rate)


def _check_finite(value, stage):
    if not np.isfinite(value):
        raise FloatingPointError(
            f"The loss became {value} during {stage}. The learning rate is "
            "probably too high or the input is badly scaled: lower "
            "learning_rate/pretrain_learning_rate or scale X (e.g. MinMaxScaler)."
        )


def make_optimizer(name, parameters, learning_rate):
    """SGD with momentum 0.9 (the paper's and DEC-keras' choice) or Adam."""
    if name == "sgd":
        return torch.optim.SGD(parameters, lr=learning_rate, momentum=0.9)
    return torch.optim.Adam(parameters, lr=learning_rate)


# ---------------------------------------------------------------------------
# Pretraining


def auto_pretrain_learning_rate(optimizer, X, comm):
    """Pretraining rate for ``pretrain_learning_rate="auto"`` on rows ``X``.

    Data-parallel, the power is that of all ranks' rows together.
    """
    if optimizer == "adam":
        return 1e-3
    power = comm.mean(mean_square(X), X.shape[0] * X.shape[1])
    return 1.0 if power <= 0 else min(1.0, _MAX_SGD_RATE_TIMES_POWER / power)


@dataclass(frozen=True)
class Plateau:
    """End a stage once the best epoch loss of the last ``window`` epochs is
    less than ``tol`` (relative) below the best loss before them."""

    window: int
    tol: float

    def reached(self, losses):
        if len(losses) <= self.window:
            return False
        before = min(losses[: -self.window])
        return min(losses[-self.window :]) > (1.0 - self.tol) * before


def auto_pretraining(n_rows, batch_size, epochs, comm):
    """``(batch_size, epochs, plateau)`` of pretraining, each "auto" resolved.

    ``plateau`` (a :class:`Plateau`, or None for a given number of epochs)
    ends a stage early. ``n_rows`` is this rank's; data-parallel, the window
    counts the steps of the rank with the most rows, so every rank agrees.
    """
    if batch_size == "auto":
        batch_size = PAPER_PRETRAINING[0]
    if epochs != "auto":
        return batch_size, epochs, None
    steps_per_epoch = int(comm.max(-(-n_rows // batch_size)))
    window = -(-PLATEAU_STEPS // max(steps_per_epoch, 1))
    return batch_size, PAPER_PRETRAINING[1], Plateau(window, PLATEAU_TOL)


@dataclass(frozen=True)
class PretrainingPlan:
    """Pretraining's settings, every "auto" resolved: what :func:`pretrain` runs."""

    optimizer: str
    learning_rate: float
    batch_size: int
    epochs: int
    plateau: Plateau | None


def plan_pretraining(
    X, *, optimizer, learning_rate, batch_size, epochs, low_power, comm
):
    """The one place where pretraining's "auto" settings are decided.

    ``optimizer="auto"`` is SGD, or Adam for data rescaled for its tiny
    entries (``low_power``); ``learning_rate="auto"`` follows the optimiser
    and the rows' power (:func:`auto_pretrain_learning_rate`);
    ``batch_size`` and ``epochs`` follow :func:`auto_pretraining`.
    Data-parallel, every rank resolves the same plan.
    """
    batch_size, epochs, plateau = auto_pretraining(X.shape[0], batch_size, epochs, comm)
    if optimizer == "auto":
        optimizer = "adam" if low_power else "sgd"
    if learning_rate == "auto":
        learning_rate = auto_pretrain_learning_rate(optimizer, X, comm)
    return PretrainingPlan(optimizer, learning_rate, batch_size, epochs, plateau)


def _fit_reconstruction(
    forward,
    parameters,
    X,
    *,
    module,
    epochs,
    batch_size,
    learning_rate,
    optimizer,
    generator,
    device,
    stage,
    comm,
    hooks,
    augment=None,
    plateau=None,
):
    """Minimise the mean squared reconstruction error of ``forward(x) -> x``.

    An epoch is one pass over ``X``; data-parallel, every rank runs as many
    steps as the rank with the most rows needs, the others going on into
    their next shuffled pass, and gradients are averaged. With ``augment``
    (``augment(x, generator)``), every batch is replaced by its random
    transform, which is then both the input and the target (DEC-DA's
    pretraining). With ``plateau``, the stage ends once its epoch loss has
    levelled off; the loss is the same on every rank, and so is the decision.
    Returns True when a callback ended pretraining.
    """
    parameters = list(parameters)
    clip = optimizer == "sgd"
    optimizer = make_optimizer(optimizer, parameters, learning_rate)
    n_steps = int(comm.max(-(-len(X) // batch_size)))
    batches = endless_minibatches(len(X), batch_size, generator, device, X.device)
    losses = []
    for epoch in range(epochs):
        start = time.perf_counter()
        total = torch.zeros((), device=device)
        n_rows = 0
        for _ in range(n_steps):
            _, data_idx = next(batches)
            x = take_rows(X, data_idx, device)
            if augment is not None:
                x = augment(x, generator)
            loss = F.mse_loss(forward(x), x)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            comm.average_gradients(parameters)
            if clip:
                torch.nn.utils.clip_grad_norm_(parameters, _MAX_GRAD_NORM)
            optimizer.step()
            total += loss.detach() * len(data_idx)
            n_rows += len(data_idx)
        total, n_rows = comm.sum([total.item(), n_rows])
        mean_loss = total / n_rows
        _check_finite(mean_loss, stage)
        seconds = time.perf_counter() - start
        record = {"stage": stage, "epoch": epoch, "loss": mean_loss, "seconds": seconds}
        losses.append(mean_loss)
        levelled = plateau is not None and plateau.reached(losses)
        if levelled:
            record["plateau"] = True  # the history says why the stage ended
        if hooks.record(record, module=module):
            return True
        if levelled:
            return False
    return False


def pretrain(
    autoencoder,
    X,
    *,
    layerwise_dropout,
    epochs,
    batch_size,
    learning_rate,
    optimizer,
    generator,
    device,
    comm,
    hooks,
    augment=None,
    plateau=None,
):
    """Pretrain ``autoencoder`` on ``X``.

    With ``layerwise_dropout`` None, the whole autoencoder learns to
    reconstruct ``X`` (or its transforms, with ``augment``), end to end.
    With a rate, the paper's greedy denoising pretraining: pair ``i``
    (encoder layer ``i`` and its mirror decoder layer) learns to reconstruct
    the clean output of the frozen layers below it from a copy corrupted by
    dropout at that rate, with dropout on its code as well; those frozen
    outputs are computed once per pair rather than at every step. The stack
    is then fine-tuned end to end without dropout; ``augment`` must be None.
    ``plateau`` ends each of these stages once its loss levels off. A
    callback can skip the stage or end it early.
    """
    state = {"module": autoencoder, "generator": generator, "history": hooks.history}
    if hooks.stage_begin("pretrain", **state):
        return
    common = dict(
        module=autoencoder,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        optimizer=optimizer,
        generator=generator,
        device=device,
        comm=comm,
        hooks=hooks,
        plateau=plateau,
    )
    stopped = False
    if layerwise_dropout is not None:
        dropout = layerwise_dropout
        for i in range(autoencoder.n_pairs):
            H = map_batches(
                lambda x, depth=i: autoencoder.encode(x, depth=depth), X, device=device
            )

            def denoise(h, i=i):
                code = autoencoder.encode_pair(i, _corrupt(h, dropout, generator))
                return autoencoder.decode_pair(i, _corrupt(code, dropout, generator))

            pair = [
                *autoencoder.encoder_layers[i].parameters(),
                *autoencoder.decoder_layers[i].parameters(),
            ]
            stopped = _fit_reconstruction(
                denoise, pair, H, stage=f"pretrain_layer_{i}", **common
            )
            del H
            if stopped:
                break
        stage = "pretrain_finetune"
    else:
        stage = "pretrain_end_to_end"
    if not stopped:
        _fit_reconstruction(
            lambda x: autoencoder.decode(autoencoder.encode(x)),
            autoencoder.parameters(),
            X,
            stage=stage,
            augment=augment,
            **common,
        )
    hooks.stage_end("pretrain", **state)


# ---------------------------------------------------------------------------
# Clustering stage


def refresh_target(module, X, *, device, comm, reconstruction=False, target=None):
    """Soft assignment of the whole of ``X`` in batches, and its target.

    Returns ``(p, labels, kl, mse)``: the target distribution P (on
    ``device``), the hard labels argmax Q, ``KL(P || Q)`` as a float and, with
    ``reconstruction``, the mean squared reconstruction error (else None),
    computed in the same pass. Data-parallel, the cluster frequencies of P,
    the KL divergence and the error are those of all ranks' rows. A given
    ``target`` (n x k, on ``device``) is returned as P instead of DEC's
    sharpened Q, and the KL divergence is taken to it.
    """

    def forward(x):
        z, log_q = module(x)
        if not reconstruction:
            return log_q
        error = (module.autoencoder.decode(z) - x).pow(2).mean(dim=1, keepdim=True)
        return torch.cat([log_q, error], dim=1)

    out = map_batches(forward, X, device=device)
    n_clusters = len(module.centroids)
    log_q = out[:, :n_clusters]
    labels = log_q.argmax(dim=1)
    mse_sum = float(out[:, -1].sum()) if reconstruction else 0.0
    frequency = comm.sum_tensor(log_q.exp().sum(dim=0))
    # P overwrites log Q chunk by chunk: per-row state stays one n x k array.
    kl_sum = 0.0
    for start in range(0, len(out), INFERENCE_BATCH_SIZE):
        rows = out[start : start + INFERENCE_BATCH_SIZE, :n_clusters]
        if target is not None:
            p_rows = target[start : start + INFERENCE_BATCH_SIZE]
            kl_sum += float(F.kl_div(rows, p_rows, reduction="sum"))
            continue
        p_rows = target_distribution(rows.exp(), frequency=frequency)
        kl_sum += float(F.kl_div(rows, p_rows, reduction="sum"))
        rows.copy_(p_rows)
    kl_sum, mse_sum, n_rows = comm.sum([kl_sum, mse_sum, len(X)])
    mse = mse_sum / n_rows if reconstruction else None
    # Without a target, log Q's storage now holds P.
    p = log_q if target is None else target
    return p, labels, kl_sum / n_rows, mse


@dataclass(frozen=True)
class ClusteringOutcome:
    """The clustering stage's module, steps run and whether it converged."""

    module: torch.nn.Module
    n_iter: int
    converged: bool


def train_clustering(
    module,
    X,
    *,
    max_iter,
    update_interval,
    tol,
    batch_size,
    learning_rate,
    generator,
    device,
    comm,
    hooks,
    gamma=None,
    augment=None,
    start_target=None,
    start_steps=0,
):
    """DEC's clustering stage: minimise KL(P || Q) over encoder and centroids.

    Every ``update_interval`` steps the soft assignment Q and the target P
    are recomputed on the whole data set (in batches); training stops when
    fewer than a fraction ``tol`` of the labels changed since the previous
    refresh, after ``max_iter`` steps, or when a callback ends the stage
    (which counts as convergence).

    With ``gamma`` set, the decoder is trained too and the loss is IDEC's
    ``reconstruction MSE + gamma * KL(P || Q)``, which keeps the embedding
    faithful to the data while it is pulled towards the clusters.

    Data-parallel, every rank steps on its own rows with averaged
    gradients, and the refreshes and the stopping rule use all ranks' rows,
    so all ranks stop together.

    With ``augment`` (``augment(x, generator)``), the target P comes from
    the clean rows and Q, in the loss, from their random transforms
    (DEC-DA's clustering stage).

    With ``start_target`` (n x k, on ``device``), the target of the first
    ``start_steps`` steps is that fixed distribution instead of P: the
    encoder and centroids first learn the partition the stage starts from
    (the refreshes then only record; the stopping rule waits).
    """
    if hooks.stage_begin(
        "clustering", module=module, generator=generator, history=hooks.history
    ):
        return ClusteringOutcome(module, 0, True)
    parameters = module.stage_parameters(reconstruction=gamma is not None)
    optimizer = make_optimizer("sgd", parameters, learning_rate)
    batches = endless_minibatches(len(X), batch_size, generator, device, X.device)
    want_labels = hooks.wants("on_record")
    previous_labels = None
    converged = False
    n_iter = 0
    start = time.perf_counter()
    while True:
        if n_iter % update_interval == 0:
            p = None  # the old target goes before the new one is built
            holding = start_target is not None and n_iter < start_steps
            p, labels, kl, mse = refresh_target(
                module,
                X,
                device=device,
                comm=comm,
                reconstruction=gamma is not None,
                target=start_target if holding else None,
            )
            # ``loss`` is the stage's objective on the whole data at the
            # refresh: KL(P || Q) for DEC, MSE + gamma KL(P || Q) for IDEC.
            record = {
                "stage": "clustering",
                "iteration": n_iter,
                "loss": kl if gamma is None else mse + gamma * kl,
                "kl": kl,
                "delta_label": None,
            }
            if gamma is not None:
                record["reconstruction"] = mse
            if holding:
                record["target"] = "start"
            _check_finite(record["loss"], "clustering")
            if previous_labels is not None:
                changed = (labels != previous_labels).sum().item()
                changed, n_rows = comm.sum([changed, len(labels)])
                record["delta_label"] = changed / n_rows
            # Wall time since the previous record: the steps of one interval
            # and this refresh.
            now = time.perf_counter()
            record["seconds"], start = now - start, now
            state = {"module": module}
            if want_labels:
                state["labels"] = labels.cpu().numpy()
            if hooks.record(record, **state):
                converged = True
                break
            stoppable = previous_labels is not None and not holding
            if stoppable and record["delta_label"] < tol:
                converged = True
                break
            previous_labels = labels
        if n_iter >= max_iter:
            break
        idx, data_idx = next(batches)
        x = take_rows(X, data_idx, device)
        if augment is not None:
            x = augment(x, generator)
        z, log_q_batch = module(x)
        loss = kl_divergence(p[idx], log_q_batch)
        if gamma is not None:
            loss = F.mse_loss(module.autoencoder.decode(z), x) + gamma * loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        comm.average_gradients(parameters)
        if gamma is not None:
            torch.nn.utils.clip_grad_norm_(parameters, _MAX_GRAD_NORM)
        optimizer.step()
        n_iter += 1
    hooks.stage_end(
        "clustering", module=module, generator=generator, history=hooks.history
    )
    return ClusteringOutcome(module, n_iter, converged)


# ---------------------------------------------------------------------------
# IIC


@dataclass(frozen=True)
class IICOutcome:
    """Optimisation steps and epochs (full or cut short) that IIC ran."""

    n_iter: int
    n_epochs: int


def train_iic(
    module,
    X,
    *,
    perturb,
    n_repeats,
    epochs,
    batch_size,
    learning_rate,
    generator,
    device,
    hooks,
):
    """Maximise the mutual information of every head, alternating head kinds.

    Each epoch makes one pass over ``X`` training the over-clustering heads
    and the backbone, then one pass training the main heads and the backbone
    (the paper's alternation). The loss of a pass is the mean IIC loss of the
    heads of that kind; a record per pass keeps each head's loss. The
    learning rate decays to 0 along a cosine over all steps, so the heads
    settle instead of wandering at the end. A callback can skip the stage or
    end it after any pass.
    """
    if hooks.stage_begin(
        "iic", module=module, generator=generator, history=hooks.history
    ):
        return IICOutcome(0, 0)
    optimizer = torch.optim.Adam(module.parameters(), lr=learning_rate)
    kinds = ("overcluster", "main") if len(module.overcluster_heads) else ("main",)
    n_steps = epochs * len(kinds) * -(-len(X) // batch_size)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(n_steps, 1))
    n_iter = n_epochs = 0
    module.train()
    for epoch in range(epochs):
        stopped = False
        n_epochs += 1
        for kind in kinds:
            start = time.perf_counter()
            totals = torch.zeros(len(module.heads(kind)), device=device)
            batches = minibatches(
                len(X), batch_size, generator, device, X.device, min_size=2
            )
            for _, idx in batches:
                features, features_perturbed = paired_features(
                    module, take_rows(X, idx, device), perturb, n_repeats, generator
                )
                losses = iic_loss(
                    F.softmax(module.head_logits(kind, features), dim=-1),
                    F.softmax(module.head_logits(kind, features_perturbed), dim=-1),
                )
                optimizer.zero_grad(set_to_none=True)
                losses.mean().backward()
                optimizer.step()
                scheduler.step()
                totals += losses.detach() * len(idx)
                n_iter += 1
            head_losses = (totals / len(X)).tolist()
            mean_loss = float(np.mean(head_losses))
            _check_finite(mean_loss, f"IIC training ({kind} heads)")
            record = {
                "stage": kind,
                "epoch": epoch,
                "loss": mean_loss,
                "head_losses": head_losses,
                "seconds": time.perf_counter() - start,
            }
            if hooks.record(record, module=module):
                stopped = True
                break
        if stopped:
            break
    module.eval()
    hooks.stage_end("iic", module=module, generator=generator, history=hooks.history)
    return IICOutcome(n_iter, n_epochs)

"""Training loops: autoencoder pretraining and DEC's clustering stage.

Every function is keyword-only, works on float32 tensors (on the compute
device, or on the host when the data would not fit there) and returns its
history as a list of per-epoch or per-refresh records. Randomness comes
only from the ``generator`` passed in, never from torch's global RNG.
Losses are accumulated on the device and read back once per epoch, so the
loops do not synchronise with the host at every step.
"""

import time

import numpy as np
import torch
from torch.nn import functional as F
from tqdm.auto import tqdm

from ._data import mean_square, read_rows, rows_per_chunk
from ._nn import kl_divergence, target_distribution

# Rows per forward pass at inference: large enough to keep the device busy,
# small enough to bound memory (2048 x 2000 float32 activations = 16 MB).
INFERENCE_BATCH_SIZE = 2048
_MIN_ROWS = 64
# Gradient-norm clip of the reconstruction losses (SGD pretraining at
# DEC-keras' learning rate 1.0, IDEC's clustering stage): their gradient grows
# with the square of the input's scale, and unscaled data would make SGD
# diverge. On digits (data in [0, 1]) pretraining's gradient norms stayed
# below 0.5, so there the clip does not bind.
_MAX_GRAD_NORM = 1.0


# ---------------------------------------------------------------------------
# Batching


def _minibatches(n_samples, batch_size, generator, device, data_device=None):
    """Yield ``(idx, data_idx)`` batches of one shuffled pass over the rows.

    ``idx`` lives on the compute ``device`` (to index per-row state such as
    the target P) and ``data_idx`` on ``data_device``, where the rows are:
    the permutation moves there once per pass, not once per step, so
    host-resident data costs no host synchronisation per step.
    """
    order = torch.randperm(n_samples, generator=generator, device=device)
    on_data = order if data_device in (None, order.device) else order.to(data_device)
    yield from zip(
        torch.split(order, batch_size), torch.split(on_data, batch_size), strict=True
    )


def _endless_minibatches(n_samples, batch_size, generator, device, data_device=None):
    while True:
        yield from _minibatches(n_samples, batch_size, generator, device, data_device)


def _take(X, data_idx, device):
    """Rows ``data_idx`` of ``X`` (indices on ``X``'s device) on ``device``.

    Rows gathered from pinned host memory are gathered into pinned memory,
    so that the copy to the accelerator does not block.
    """
    if isinstance(X, torch.Tensor) and X.device != device and X.is_pinned():
        rows = torch.empty(
            (len(data_idx), *X.shape[1:]), dtype=X.dtype, pin_memory=True
        )
        torch.index_select(X, 0, data_idx, out=rows)
    else:
        rows = X[data_idx]
    return rows.to(device, non_blocking=True)


def _corrupt(x, rate, generator):
    """Dropout noise drawn from ``generator`` (``nn.Dropout`` uses global RNG)."""
    if rate == 0:
        return x
    keep = torch.rand(x.shape, generator=generator, device=x.device) >= rate
    return x * keep / (1.0 - rate)


@torch.no_grad()
def map_batches(fn, X, *, device, batch_size=INFERENCE_BATCH_SIZE):
    """Apply ``fn`` to ``X`` (rows) in batches, into one tensor on ``device``.

    The output is allocated once and filled, so the peak memory is the
    result itself, not the result plus a list of its pieces.
    """
    out = None
    for start in range(0, len(X), batch_size):
        result = fn(X[start : start + batch_size].to(device))
        if out is None:
            out = result.new_empty((len(X), *result.shape[1:]))
        out[start : start + len(result)] = result
    return out


@torch.no_grad()
def map_batches_numpy(fn, X, *, device, out_dim, batch_size=INFERENCE_BATCH_SIZE):
    """Apply ``fn`` to ``X`` (numpy or streamed) in batches, into a numpy array.

    Only one batch of input and output lives on the device at a time, so
    memory stays bounded whatever the number of rows. Batches shorter than
    ``_MIN_ROWS`` are zero-padded: BLAS switches to other kernels (with
    another summation order) for a handful of rows; padding keeps a row's
    result the same, to float32 rounding, whichever rows share its batch.
    """
    out = np.empty((X.shape[0], out_dim), dtype=np.float32)
    # Wide inputs (text: 20,000 columns) get fewer rows per batch.
    batch_size = min(batch_size, rows_per_chunk(X.shape[1]))
    for start in range(0, X.shape[0], batch_size):
        rows = read_rows(X, start, start + batch_size)
        batch = torch.zeros((max(len(rows), _MIN_ROWS), X.shape[1]))
        batch[: len(rows)] = torch.from_numpy(rows)
        result = fn(batch.to(device))[: len(rows)]
        out[start : start + len(rows)] = result.cpu().numpy()
    return out


def _progress(iterable, *, enabled, desc, total=None):
    return tqdm(iterable, desc=desc, total=total, disable=not enabled, leave=False)


# ---------------------------------------------------------------------------
# Pretraining


# SGD's "auto" pretraining rate is lowered so that rate x mean(X²) stays at
# most this: the squared error's gradient grows with the data's power. Images
# in [0, 1] (digits: mean(X²) = 0.23) keep DEC-keras' rate 1.0; standardised
# data (mean(X²) = 1) gets 0.25, where 1.0 collapsed the embedding of the
# synthetic set.
_MAX_SGD_RATE_TIMES_POWER = 0.25


def auto_pretrain_learning_rate(optimizer, X, comm=None):
    """Pretraining rate for ``pretrain_learning_rate="auto"`` on rows ``X``.

    Data-parallel, the power is that of all ranks' rows together.
    """
    if optimizer == "adam":
        return 1e-3
    power = mean_square(X)
    if comm is not None:
        power = comm.mean(power, X.shape[0] * X.shape[1])
    return 1.0 if power <= 0 else min(1.0, _MAX_SGD_RATE_TIMES_POWER / power)


def make_optimizer(name, parameters, learning_rate):
    """SGD with momentum 0.9 (the paper's and DEC-keras' choice) or Adam."""
    if name == "sgd":
        return torch.optim.SGD(parameters, lr=learning_rate, momentum=0.9)
    return torch.optim.Adam(parameters, lr=learning_rate)


def _fit_reconstruction(
    forward,
    parameters,
    X,
    *,
    epochs,
    batch_size,
    learning_rate,
    optimizer,
    generator,
    device,
    stage,
    progress,
    comm=None,
    augment=None,
):
    """Minimise the mean squared reconstruction error of ``forward(x) -> x``.

    An epoch is one pass over ``X``; data-parallel (``comm``), every rank
    runs as many steps as the rank with the most rows needs, the others
    going on into their next shuffled pass, and gradients are averaged.
    With ``augment`` (``augment(x, generator)``), every batch is replaced by
    its random transform, which is then both the input and the target
    (DEC-DA's pretraining).
    """
    parameters = list(parameters)
    clip = optimizer == "sgd"
    optimizer = make_optimizer(optimizer, parameters, learning_rate)
    n_steps = -(-len(X) // batch_size)
    if comm is not None:
        n_steps = int(comm.max(n_steps))
    batches = _endless_minibatches(len(X), batch_size, generator, device, X.device)
    history = []
    bar = _progress(range(epochs), enabled=progress, desc=stage)
    for epoch in bar:
        start = time.perf_counter()
        total = torch.zeros((), device=device)
        n_rows = 0
        for _ in range(n_steps):
            _, data_idx = next(batches)
            x = _take(X, data_idx, device)
            if augment is not None:
                x = augment(x, generator)
            loss = F.mse_loss(forward(x), x)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if comm is not None:
                comm.average_gradients(parameters)
            if clip:
                torch.nn.utils.clip_grad_norm_(parameters, _MAX_GRAD_NORM)
            optimizer.step()
            total += loss.detach() * len(data_idx)
            n_rows += len(data_idx)
        total = total.item()
        if comm is not None:
            total, n_rows = comm.sum([total, n_rows])
        mean_loss = total / n_rows
        _check_finite(mean_loss, stage)
        seconds = time.perf_counter() - start
        history.append(
            {"stage": stage, "epoch": epoch, "loss": mean_loss, "seconds": seconds}
        )
        bar.set_postfix(loss=f"{mean_loss:.4g}")
    return history


def pretrain_end_to_end(
    autoencoder,
    X,
    *,
    epochs,
    batch_size,
    learning_rate,
    generator,
    device,
    optimizer="sgd",
    progress=False,
    stage="pretrain_end_to_end",
    comm=None,
    augment=None,
):
    """Train the whole autoencoder to reconstruct ``X`` (or its transforms)."""
    return _fit_reconstruction(
        autoencoder,
        autoencoder.parameters(),
        X,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        optimizer=optimizer,
        generator=generator,
        device=device,
        stage=stage,
        progress=progress,
        comm=comm,
        augment=augment,
    )


def pretrain_layerwise(
    autoencoder,
    X,
    *,
    epochs,
    batch_size,
    learning_rate,
    dropout,
    generator,
    device,
    optimizer="sgd",
    progress=False,
    comm=None,
):
    """Greedy layer-wise denoising pretraining, then end-to-end fine-tuning.

    Pair ``i`` (encoder layer ``i`` and its mirror decoder layer) learns to
    reconstruct the clean output of the frozen layers below it from a
    dropout-corrupted copy, with dropout on its code as well, as in the DEC
    paper. Those frozen outputs are computed once per pair rather than at
    every step. The stack is then fine-tuned end to end without dropout.
    """
    history = []
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
        history += _fit_reconstruction(
            denoise,
            pair,
            H,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            optimizer=optimizer,
            generator=generator,
            device=device,
            stage=f"pretrain_layer_{i}",
            progress=progress,
            comm=comm,
        )
        del H
    history += pretrain_end_to_end(
        autoencoder,
        X,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        optimizer=optimizer,
        generator=generator,
        device=device,
        progress=progress,
        stage="pretrain_finetune",
        comm=comm,
    )
    return history


# ---------------------------------------------------------------------------
# Clustering stage


def refresh_target(module, X, *, device, reconstruction=False, comm=None, target=None):
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
    frequency = log_q.exp().sum(dim=0)
    if comm is not None:
        comm.sum_tensor(frequency)
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
    n_rows = len(X)
    if comm is not None:
        kl_sum, mse_sum, n_rows = comm.sum([kl_sum, mse_sum, n_rows])
    mse = mse_sum / n_rows if reconstruction else None
    # Without a target, log Q's storage now holds P.
    p = log_q if target is None else target
    return p, labels, kl_sum / n_rows, mse


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
    gamma=None,
    progress=False,
    comm=None,
    augment=None,
    start_target=None,
    start_steps=0,
):
    """DEC's clustering stage: minimise KL(P || Q) over encoder and centroids.

    Every ``update_interval`` steps the soft assignment Q and the target P
    are recomputed on the whole data set (in batches); training stops when
    fewer than a fraction ``tol`` of the labels changed since the previous
    refresh, or after ``max_iter`` steps.

    With ``gamma`` set, the decoder is trained too and the loss is IDEC's
    ``reconstruction MSE + gamma * KL(P || Q)``, which keeps the embedding
    faithful to the data while it is pulled towards the clusters.

    Data-parallel (``comm``), every rank steps on its own rows with averaged
    gradients, and the refreshes and the stopping rule use all ranks' rows,
    so all ranks stop together.

    With ``augment`` (``augment(x, generator)``), the target P comes from
    the clean rows and Q, in the loss, from their random transforms
    (DEC-DA's clustering stage).

    With ``start_target`` (n x k, on ``device``), the target of the first
    ``start_steps`` steps is that fixed distribution instead of P: the
    encoder and centroids first learn the partition the stage starts from
    (the refreshes then only record; the stopping rule waits).

    Returns ``(n_iter, converged, history)``.
    """
    parameters = [*module.autoencoder.encoder_layers.parameters(), module.centroids]
    if gamma is not None:
        parameters += module.autoencoder.decoder_layers.parameters()
    optimizer = make_optimizer("sgd", parameters, learning_rate)
    batches = _endless_minibatches(len(X), batch_size, generator, device, X.device)
    history = []
    previous_labels = None
    converged = False
    n_iter = 0
    start = time.perf_counter()
    bar = _progress(range(max_iter), enabled=progress, desc="clustering")
    while True:
        if n_iter % update_interval == 0:
            p = None  # the old target goes before the new one is built
            holding = start_target is not None and n_iter < start_steps
            p, labels, kl, mse = refresh_target(
                module,
                X,
                device=device,
                reconstruction=gamma is not None,
                comm=comm,
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
                if comm is None:
                    delta = changed / len(labels)
                else:
                    changed, n_rows = comm.sum([changed, len(labels)])
                    delta = changed / n_rows
                record["delta_label"] = delta
                bar.set_postfix(delta_label=f"{delta:.4f}")
            # Wall time since the previous record: the steps of one interval
            # and this refresh.
            now = time.perf_counter()
            record["seconds"], start = now - start, now
            history.append(record)
            stoppable = previous_labels is not None and not holding
            if stoppable and record["delta_label"] < tol:
                converged = True
                break
            previous_labels = labels
        if n_iter >= max_iter:
            break
        idx, data_idx = next(batches)
        x = _take(X, data_idx, device)
        if augment is not None:
            x = augment(x, generator)
        z, log_q_batch = module(x)
        loss = kl_divergence(p[idx], log_q_batch)
        if gamma is not None:
            loss = F.mse_loss(module.autoencoder.decode(z), x) + gamma * loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if comm is not None:
            comm.average_gradients(parameters)
        if gamma is not None:
            torch.nn.utils.clip_grad_norm_(parameters, _MAX_GRAD_NORM)
        optimizer.step()
        n_iter += 1
        bar.update()
    bar.close()
    return n_iter, converged, history


def _check_finite(value, stage):
    if not np.isfinite(value):
        raise FloatingPointError(
            f"The loss became {value} during {stage}. The learning rate is "
            "probably too high or the input is badly scaled: lower "
            "learning_rate/pretrain_learning_rate or scale X (e.g. MinMaxScaler)."
        )

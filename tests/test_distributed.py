"""Data-parallel training: 2 processes on loopback with the gloo backend.

tests/ddp_script.py is the user's script; each test launches it on two
ranks, as torchrun would, and reads what every rank saw.
"""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch.distributed as dist
from sklearn.metrics import adjusted_rand_score

SCRIPT = Path(__file__).with_name("ddp_script.py")
ROOT = SCRIPT.parent.parent

pytestmark = pytest.mark.skipif(
    not dist.is_available() or not dist.is_gloo_available(),
    reason="torch.distributed with gloo is not available",
)


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _launch(scenario, out_dir, *, timeout_s=20, wait_s=240):
    """Run the script on 2 ranks; return each rank's JSON (None if absent)."""
    env = {
        **os.environ,
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(_free_port()),
        "WORLD_SIZE": "2",
        "DDP_TIMEOUT": str(timeout_s),
        # One thread per rank: two ranks share this machine's cores.
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": str(ROOT),
    }
    procs = [
        subprocess.Popen(
            [sys.executable, str(SCRIPT), scenario, str(out_dir)],
            env={**env, "RANK": str(rank), "LOCAL_RANK": str(rank)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for rank in range(2)
    ]
    start = time.monotonic()
    outputs = [proc.communicate(timeout=wait_s)[0].decode() for proc in procs]
    elapsed = time.monotonic() - start
    results = []
    for rank in range(2):
        path = Path(out_dir) / f"rank{rank}.json"
        results.append(json.loads(path.read_text()) if path.exists() else None)
    return results, [p.returncode for p in procs], outputs, elapsed


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("ddp")
    results, codes, outputs, _ = _launch("train", out_dir)
    assert codes == [0, 0], outputs
    for result in results:
        assert "crash" not in result, result["crash"]
    return results


def test_every_rank_ends_with_the_same_model(trained):
    rank0, rank1 = trained
    assert rank0["weights"] == pytest.approx(rank1["weights"], rel=0, abs=0)
    assert rank0["history"] == rank1["history"]
    assert rank0["n_iter"] == rank1["n_iter"]
    # Opting out trains each rank on its own rows: the models differ.
    assert rank0["alone_weights"] != rank1["alone_weights"]


def test_class_split_shards_are_clustered_jointly(trained):
    # Rank 0 saw only classes 0-1, rank 1 only classes 2-3: a shared model
    # must still find all four clusters, two on each rank.
    labels = np.concatenate([r["labels"] for r in trained])
    y = np.concatenate([r["y"] for r in trained])
    assert adjusted_rand_score(y, labels) > 0.9
    on_rank = [set(r["labels"]) for r in trained]
    assert len(on_rank[0] | on_rank[1]) == 4
    assert not on_rank[0] & on_rank[1]
    assert all(r["predict_equals_labels"] for r in trained)
    assert all(r["again_equals"] for r in trained)


def test_a_users_network_ends_the_same_on_every_rank(trained):
    assert trained[0]["user_weights"] == trained[1]["user_weights"]
    assert any("network" in name for name in trained[0]["user_weights"])


def test_a_callback_on_one_rank_ends_the_stage_on_every_rank(trained):
    assert [r["stopped_n_iter"] for r in trained] == [0, 0]
    assert trained[0]["stopped_weights"] == trained[1]["stopped_weights"]


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("nan_error", r"ValueError: rank 1: .*NaN.*drop the rows"),
        ("width_error", r"ValueError: Every rank must pass rows of the same width"),
        ("iic_error", r"ValueError: IICClusterer does not train data-parallel"),
    ],
)
def test_bad_input_on_one_rank_fails_every_rank(trained, key, message):
    import re

    for result in trained:
        assert result[key] is not None and re.match(message, result[key]), result[key]


def test_a_dying_rank_stops_the_others_in_bounded_time(tmp_path):
    results, codes, outputs, elapsed = _launch("dies", tmp_path, timeout_s=10)
    assert codes[1] == 3  # rank 1 crashed
    assert codes[0] == 0, outputs[0]
    survivor = results[0]
    assert survivor is not None and "crash" not in survivor, survivor
    assert survivor["error"] is not None, "rank 0 finished as if nothing happened"
    assert elapsed < 120

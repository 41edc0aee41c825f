"""The Scaling page's torchrun script runs as documented: 2 ranks, gloo.

docs/scaling.rst shows docs/scripts/train_ddp.py with ``literalinclude``;
this test finds the file through that directive, so it runs what the page
shows, and launches it as the page says, with ``torchrun`` (here
``python -m torch.distributed.run``) on two processes over loopback.
"""

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch.distributed as dist

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

pytestmark = pytest.mark.skipif(
    not dist.is_available() or not dist.is_gloo_available(),
    reason="torch.distributed with gloo is not available",
)


def _documented_script():
    """The file that scaling.rst's torchrun section includes."""
    page = (DOCS / "scaling.rst").read_text()
    included = re.findall(r"^\.\. literalinclude:: (\S+\.py)\s*$", page, re.M)
    assert included, "scaling.rst no longer includes a script with literalinclude"
    scripts = [path for path in included if "torchrun" in (DOCS / path).read_text()]
    assert len(scripts) == 1, included
    return DOCS / scripts[0]


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _loopback_env():
    """Keep gloo on the loopback interface, where the machine names one."""
    names = [name for _, name in socket.if_nameindex() if name.startswith("lo")]
    return {"GLOO_SOCKET_IFNAME": names[0]} if names else {}


def test_the_documented_torchrun_script_runs_on_two_cpu_processes(tmp_path):
    script = _documented_script()
    env = {
        **os.environ,
        **_loopback_env(),
        # The CPU path (gloo) even on a GPU machine, one thread per rank: two
        # ranks share this machine's cores.
        "CUDA_VISIBLE_DEVICES": "",
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join(
            [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
    }
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node",
        "2",
        "--master-addr",
        "127.0.0.1",
        "--master-port",
        str(_free_port()),
        str(script),
    ]
    proc = subprocess.run(
        command,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=240,
    )
    output = proc.stdout.decode(errors="replace")
    assert proc.returncode == 0, output
    # Both ranks trained; rank 0 saved the model, which loads.
    assert re.search(r"rank 0: 1000 rows", output), output
    assert re.search(r"rank 1: 1000 rows", output), output
    from skdec import DECClusterer

    model = DECClusterer.load(tmp_path / "model.skdec")
    assert model.n_clusters_ == 4

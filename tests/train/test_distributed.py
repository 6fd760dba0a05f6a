"""Multi-process training on the loopback interface: 2 CPU ranks (gloo) started by ``torchrun``.

The launched program is ``tests/train/dist_worker.py``. Every subprocess runs under a hard timeout, and the process
group has a collective timeout, so a broken run fails the test instead of hanging CI.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from rnnkit.train.distributed import Distributed, launched_by_torchrun, setup_distributed
from tests.train import dist_worker

ROOT = Path(__file__).resolve().parents[2]
WORKER = ROOT / "tests" / "train" / "dist_worker.py"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(args: list[str], nproc: int = 2, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m torch.distributed.run`` on 127.0.0.1 with a free port, one thread per rank."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")]
        ),
        "OMP_NUM_THREADS": "1",
        "GLOO_SOCKET_IFNAME": "lo",  # loopback only: no network needed, nothing exposed
    }
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        f"--nproc_per_node={nproc}",
        "--nnodes=1",
        "--master_addr=127.0.0.1",
        f"--master_port={_free_port()}",
        *args,
    ]
    return subprocess.run(
        cmd, check=False, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def two_rank_run(tmp_path_factory):
    """One launch (process start-up dominates these tests): two training runs, then rank 1 fails in a third.

    The surviving rank waits in a gradient all-reduce with a 300 s collective timeout: the launch can end quickly
    only because torchrun stops it when rank 1 fails.
    """
    out = tmp_path_factory.mktemp("ddp")
    t0 = time.monotonic()
    proc = torchrun([str(WORKER), str(out), "--fail-rank", "1", "--timeout", "300"], timeout=240)
    elapsed = time.monotonic() - t0
    assert "rank 0 saved" in proc.stderr and "rank 1 saved" in proc.stderr, (
        proc.stdout + proc.stderr
    )
    return [torch.load(out / f"rank{r}.pt") for r in range(2)], proc, elapsed, out


@pytest.mark.parametrize("mode", ["shuffle", "carry"])
def test_parameters_identical_on_both_ranks(two_rank_run, mode):
    results = two_rank_run[0]
    (p0, losses0), (p1, losses1) = results[0][mode], results[1][mode]
    assert p0.keys() == p1.keys()
    for k in p0:
        assert torch.equal(p0[k], p1[k]), (
            k
        )  # bit-identical: same averaged gradients, same Adam step
    assert losses0 == losses1  # the reduced metric is the same on every rank


@pytest.mark.parametrize("mode", ["shuffle", "carry"])
def test_two_ranks_equal_one_process_over_the_global_batch(two_rank_run, mode):
    params, losses = two_rank_run[0][0][mode]
    ref_params, ref_losses = dist_worker.train(mode)
    start = dist_worker.Model().state_dict()
    for k in params:
        assert not torch.allclose(params[k], start[k])  # training moved every parameter ...
        torch.testing.assert_close(
            params[k], ref_params[k], rtol=1e-9, atol=1e-11
        )  # ... exactly as 1 process
    torch.testing.assert_close(
        torch.tensor(losses), torch.tensor(ref_losses), rtol=1e-9, atol=1e-12
    )


def test_a_failing_rank_fails_the_run_with_its_error(two_rank_run):
    _, proc, elapsed, out = two_rank_run
    assert proc.returncode != 0
    assert "RuntimeError: rank 1 failed on purpose at step 2" in proc.stdout + proc.stderr
    assert elapsed < 120  # far below the 300 s the waiting rank would otherwise hang for
    assert not list(out.glob("*.survived"))


def test_global_batches_reshuffle_per_epoch_and_split_evenly():
    per_epoch = dist_worker.N // dist_worker.GLOBAL
    epoch0 = torch.cat([dist_worker.global_indices(s) for s in range(per_epoch)])
    epoch1 = torch.cat([dist_worker.global_indices(s) for s in range(per_epoch, 2 * per_epoch)])
    assert sorted(epoch0.tolist()) == sorted(epoch1.tolist()) == list(range(dist_worker.N))
    assert not torch.equal(epoch0, epoch1)
    ranks = [_fake(r, 2) for r in range(2)]
    blocks = [epoch0[:8][d.rows(8)] for d in ranks]
    assert torch.equal(torch.cat(blocks), epoch0[:8]) and len(blocks[0]) == len(blocks[1]) == 4


def _fake(rank: int, world_size: int) -> Distributed:
    d = object.__new__(Distributed)
    d.rank, d.world_size = rank, world_size
    return d


def test_rows_and_main_rank():
    assert _fake(0, 4).is_main and not _fake(3, 4).is_main
    assert _fake(3, 4).rows(12) == slice(9, 12)
    with pytest.raises(
        ValueError,
        match="Distributed.rows: expected a global batch divisible by world_size=4, got 10",
    ):
        _fake(1, 4).rows(10)


def test_without_torchrun_there_is_one_process(monkeypatch):
    for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(k, raising=False)
    assert not launched_by_torchrun() and setup_distributed() is None
    with pytest.raises(
        RuntimeError, match="Distributed: expected the torchrun environment .* missing RANK"
    ):
        Distributed()


def test_epoch_sampler_ranks_together_see_the_single_process_batch():
    from rnnkit.train import EpochSampler

    one = EpochSampler(40, 8, seed=5)
    ranks = [EpochSampler(40, 4, seed=5, rank=r, world_size=2) for r in range(2)]
    for step in range(12):  # 5 steps per epoch: crosses two epoch boundaries
        both = torch.cat([s.indices(step) for s in ranks])
        assert torch.equal(both, one.indices(step))
    assert not torch.equal(one.indices(0), one.indices(5))  # reshuffled in the next epoch


def test_process_helpers_in_one_process(monkeypatch):
    from rnnkit.train.distributed import gather_rows, launch_world_size, own_rows, process_rank

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert process_rank() == (0, 1) and launch_world_size() == 1 and own_rows(6) == slice(0, 6)
    t = torch.arange(6.0).view(3, 2)
    assert gather_rows(t) is t
    for k, v in {
        "RANK": "1",
        "WORLD_SIZE": "4",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": "1",
    }.items():
        monkeypatch.setenv(k, v)
    assert launch_world_size() == 4  # torchrun's count, before the process group exists

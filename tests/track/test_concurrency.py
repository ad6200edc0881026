"""Writers and readers at the same time: a killed writer loses nothing it committed, and a reader
polling during writing only ever sees the data grow."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

from deepscope.track import Run, open_logdir

pytestmark = pytest.mark.skipif(os.name != "posix", reason="uses SIGKILL")

WRITER = textwrap.dedent(
    """
    import sys, time
    from deepscope.track import Run

    logdir, steps_per_flush, flushes, pause = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    run = Run(logdir, name="victim")
    step = 0
    for _ in range(flushes):
        for _ in range(steps_per_flush):
            run.log({"a": step * 0.5, "b": -float(step)}, step=step)
            step += 1
        run.flush()
        print(step, flush=True)
        time.sleep(pause)
    run.finish()
    """
)


def _start_writer(tmp_path, steps_per_flush, flushes, pause):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    logdir = tmp_path / "logs"
    logdir.mkdir()
    process = subprocess.Popen(
        [sys.executable, str(script), str(logdir), str(steps_per_flush), str(flushes), str(pause)],
        stdout=subprocess.PIPE,
        text=True,
    )
    return logdir, process


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.0, 0.013])
def test_sigkill_mid_logging_keeps_every_flushed_point(tmp_path, delay):
    logdir, process = _start_writer(tmp_path, steps_per_flush=257, flushes=10**6, pause=0.0)
    reported = 0
    try:
        for _ in range(15):  # let it flush a few times, then kill it while it is logging
            reported = int(process.stdout.readline())
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        reported = max([reported, *(int(line) for line in process.stdout.read().split())])
    finally:
        process.kill()
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL

    reader = open_logdir(logdir)
    frame = reader.scalars()
    for tag, scale in (("a", 0.5), ("b", -1.0)):
        points = frame[frame["tag"] == tag]
        committed = len(points)
        assert committed >= reported
        # what survived is exactly the prefix that was logged, in order, with exact values
        np.testing.assert_array_equal(points["step"], np.arange(committed))
        np.testing.assert_array_equal(points["value"], np.arange(committed) * scale)
    runs = reader.runs()
    assert runs["status"].tolist() == ["crashed"]
    assert np.isnan(runs["duration"].iloc[0])  # unknown: the writer never said when it stopped


@pytest.mark.slow
def test_a_reader_in_another_process_sees_the_data_grow_without_errors(tmp_path):
    steps_per_flush, flushes = 50, 30
    logdir, process = _start_writer(tmp_path, steps_per_flush, flushes, pause=0.05)
    reader = open_logdir(logdir)
    counts, versions = [], []
    try:
        while process.poll() is None:
            versions.append(reader.version())
            counts.append(len(reader.scalars(tags="a")))
            last = reader.last_scalars(tags="a")["step"].tolist()  # read later, so never behind
            assert counts[-1] == 0 or last[0] + 1 >= counts[-1]
            assert reader.runs()["status"].tolist() in ([], ["running"], ["finished"])
    finally:
        process.wait(timeout=60)
        process.stdout.close()
    assert process.returncode == 0
    counts.append(len(reader.scalars(tags="a")))
    assert counts == sorted(counts), "a reader saw points disappear"
    assert counts[-1] == steps_per_flush * flushes
    assert len(set(counts)) > 3, "the reader never saw the run part-written"
    assert len(set(versions)) > 3
    assert reader.runs()["status"].tolist() == ["finished"]


def test_reader_thread_during_writing_in_the_same_process(tmp_path):
    errors: list[BaseException] = []
    counts: list[int] = []
    done = threading.Event()
    total = 20_000

    def read() -> None:
        reader = open_logdir(tmp_path)
        try:
            while not done.is_set():
                counts.append(len(reader.scalars()))
        except BaseException as exc:  # reported to the test below
            errors.append(exc)

    thread = threading.Thread(target=read)
    thread.start()
    try:
        with Run(tmp_path, name="r") as run:
            for step in range(total):
                run.log({"x": float(step)})
                if step % 2000 == 0:
                    run.flush()
                    time.sleep(0.01)
    finally:
        done.set()
        thread.join()
    assert not errors
    assert counts == sorted(counts)
    assert len(open_logdir(tmp_path).scalars()) == total


@pytest.mark.slow
@pytest.mark.parametrize(("ending", "status"), [("pass", "finished"), ("1 / 0", "failed")])
def test_a_run_left_open_is_committed_and_closed_at_exit(tmp_path, ending, status):
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent(
            f"""
        import sys
        from deepscope.track import Run
        run = Run(sys.argv[1], name="open")
        for step in range(1000):
            run.log({{"x": float(step)}})
        {ending}
        """
        )
    )
    subprocess.run([sys.executable, str(script), str(tmp_path / "logs")], capture_output=True, timeout=120)
    reader = open_logdir(tmp_path / "logs")
    assert reader.runs()["status"].tolist() == [status]
    assert len(reader.scalars()) == 1000

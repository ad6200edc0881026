"""Every CLI error is one line ``deepscope: error: ...`` with exit status 2 (issue 16, defects 10-11)."""

from __future__ import annotations

import logging
import os

import pytest

from deepscope.cli import main
from deepscope.errors import LogdirError
from deepscope.track import import_tensorboard, open_logdir


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("deepscope: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b\n1,x\n2,y\n3,z\n")
    return path


@pytest.mark.parametrize("port", ["-1", "99999", "http"])
def test_bad_port_is_one_line(tmp_path, capsys, port):
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", str(tmp_path), "--port", port])
    assert exit_info.value.code == 2
    assert "port number (0-65535)" in _one_error_line(capsys)


def test_profile_output_into_a_folder_is_one_line(tmp_path, table, capsys):
    folder = tmp_path / "out"
    folder.mkdir()
    assert main(["profile", str(table), "-o", f"{folder}/"]) == 2
    assert "is a folder" in _one_error_line(capsys)


def test_save_schema_into_a_missing_folder_is_one_line(tmp_path, table, capsys):
    code = main(
        ["profile", str(table), "-o", str(tmp_path / "r.html"), "--save-schema", str(tmp_path / "missing" / "s.json")]
    )
    assert code == 2
    assert "does not exist" in _one_error_line(capsys)
    assert not (tmp_path / "missing").exists()


@pytest.mark.skipif(os.name != "posix", reason="bytes file names are a POSIX thing")
def test_file_name_that_is_not_utf8_is_one_line(tmp_path, table, capsys):
    odd = os.fsdecode(os.path.join(os.fsencode(tmp_path), b"\xff.csv"))
    os.rename(table, odd)
    assert main(["profile", odd, "-o", str(tmp_path / "r.html")]) == 2
    assert "\\xff.csv" in _one_error_line(capsys)


def _event_file(folder) -> None:
    writer = pytest.importorskip("torch.utils.tensorboard").SummaryWriter(str(folder))
    for step in range(50):
        writer.add_scalar("loss", 1.0 / (step + 1), step)
    writer.close()


def test_import_of_random_bytes_is_an_error_not_an_empty_run(tmp_path, capsys):
    pytest.importorskip("tensorboard")
    source = tmp_path / "tb" / "train"
    source.mkdir(parents=True)
    (source / "events.out.tfevents.1.host").write_bytes(os.urandom(4096))
    with pytest.raises(LogdirError, match="not a TensorBoard event file"):
        import_tensorboard(tmp_path / "tb", tmp_path / "logs")
    assert main(["import-tensorboard", str(tmp_path / "tb"), "--logdir", str(tmp_path / "logs")]) == 2
    assert "nothing imported" in _one_error_line(capsys)
    assert not (tmp_path / "logs").exists() or open_logdir(tmp_path / "logs").run_names() == []


def test_truncated_import_keeps_what_it_read_and_says_so(tmp_path, caplog):
    pytest.importorskip("tensorboard")
    source = tmp_path / "tb"
    _event_file(source / "train")
    [events] = list((source / "train").glob("*tfevents*"))
    data = events.read_bytes()
    events.write_bytes(data[: len(data) * 2 // 3])
    (source / "junk").mkdir()
    (source / "junk" / "events.out.tfevents.2.host").write_bytes(b"\x00\x01garbage" * 50)
    with caplog.at_level(logging.WARNING, logger="deepscope.track.tensorboard"):
        names = import_tensorboard(source, tmp_path / "logs")
    assert names == ["train"]
    messages = " ".join(record.getMessage() for record in caplog.records)
    assert "truncated" in messages and "imported its first" in messages
    assert "not a TensorBoard event file; skipped" in messages
    loss = open_logdir(tmp_path / "logs").scalars("loss")
    assert 0 < len(loss) < 50
    assert loss["step"].tolist() == list(range(len(loss)))

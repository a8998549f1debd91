"""Bad command-line input and bad output folders: one Chinese message and exit code 2, never a traceback,
never exit 1 (which means "a report failed"), and nothing written where it should not be."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import MINI, run, small_disk

MINI_PLAN = MINI / "plan.yaml"


@pytest.mark.parametrize(
    ("text", "day"),
    [("2024-06-30", "2024-06-30"), ("2024/6/30", "2024-06-30"), ("2024.06.30", "2024-06-30"),
     ("2024年6月30日", "2024-06-30"), (" 2024-6-3 ", "2024-06-03")],
)
def test_as_of_dates_in_the_ways_people_write_them(text: str, day: str) -> None:
    from edureport.core.asof import parse_day

    assert parse_day(text).isoformat() == day


@pytest.mark.parametrize("text", ["2024-W26", "2024-W26-1", "2024-02-30", "20240630T00", "6/30/2024", "明天", "",
                                  "2024-06", "0" * 5000])
def test_unreadable_as_of_dates_are_refused(text: str) -> None:
    from edureport.core.asof import AsOfError, parse_day

    with pytest.raises(AsOfError):
        parse_day(text)


@pytest.mark.parametrize("as_of", ["9999-12-31", "0001-01-01", "2024-W26", "2023-12-31", "2025-01-01", "2024/2/30"])
@pytest.mark.parametrize("command", ["status", "build"])
def test_bad_as_of_gives_one_message_and_exit_2(mini_data: Path, tmp_path: Path, command: str, as_of: str) -> None:
    extra = ("--out", tmp_path / "out", "--formats", "html") if command == "build" else ()
    result = run(command, "--data", mini_data, "--plan", MINI_PLAN, "--as-of", as_of, *extra)
    assert result.exit_code == 2, result.output
    assert "截至日期" in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "out" / "2024").exists()


def test_as_of_written_the_chinese_way_is_the_same_day(mini_data: Path) -> None:
    a = run("status", "--data", mini_data, "--plan", MINI_PLAN, "--as-of", "2024-06-30")
    b = run("status", "--data", mini_data, "--plan", MINI_PLAN, "--as-of", "2024年6月30日")
    assert a.exit_code == b.exit_code == 0 and a.stdout == b.stdout


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda out: (out / "2024" / "2024-06-30" / "index.html").mkdir(parents=True), "index.html"),
        (lambda out: (out / "2024" / "2024-06-30" / "manifest.json").mkdir(parents=True), "manifest.json"),
        (lambda out: (out / "logs").write_text("x", encoding="utf-8"), "logs"),
        (lambda out: (out / "2024").write_text("x", encoding="utf-8"), "2024"),
        (lambda out: (out / "2024" / "2024-06-30" / "html").mkdir(parents=True)
         or (out / "2024" / "2024-06-30" / "html" / "township-东镇.html").mkdir(), "township-东镇.html"),
    ],
    ids=["index-is-a-folder", "manifest-is-a-folder", "logs-is-a-file", "year-is-a-file", "report-is-a-folder"],
)
def test_output_paths_of_the_wrong_kind_are_named_up_front(mini_data: Path, tmp_path: Path, make, needle: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    make(out)
    result = run("build", "--data", mini_data, "--plan", MINI_PLAN, "--as-of", "2024-06-30", "--out", out,
                 "--formats", "html", "--only", "township:东镇")
    assert result.exit_code == 2, result.output
    assert needle in result.stderr and "无法写入" in result.stderr


@pytest.mark.parametrize("how", ["read-only", "full"])
def test_read_only_or_full_output_folder(mini_data: Path, tmp_path: Path, how: str) -> None:
    with small_disk(tmp_path / "out", "64k") as out:
        if how == "read-only":
            subprocess.run(["mount", "-o", "remount,ro", str(out)], check=True)
        else:
            (out / "filler").write_bytes(b"\0" * 60_000)
        result = run("build", "--data", mini_data, "--plan", MINI_PLAN, "--as-of", "2024-06-30", "--out", out,
                     "--formats", "html", "--only", "township:东镇")
        assert result.exit_code == 2, result.output
        assert ("文件系统只读" if how == "read-only" else "磁盘已满") in result.stderr, result.stderr


def test_build_lock_is_exit_3(tmp_path: Path) -> None:
    from edureport.batch.lock import BuildLock

    lock = BuildLock(tmp_path).acquire()
    try:
        result = run("build", "--out", tmp_path, "--plan", MINI_PLAN, "--data", MINI / "data", "--as-of",
                     "2024-06-30", "--formats", "html")
        assert result.exit_code == 3 and "另一个 edureport build" in result.stderr
    finally:
        lock.release()


def test_an_unforeseen_error_is_one_chinese_line_not_a_traceback(tmp_path: Path) -> None:
    """The last resort of `edureport` itself (not of CliRunner): a bug gives a message and a saved report."""
    code = ("import edureport.cli.main as c\n"
            "def boom(*a, **k): raise RuntimeError('注入的缺陷')\n"
            "c.plan_summary = boom\nc.main()")
    done = subprocess.run([sys.executable, "-c", code, "plan", "--plan", str(MINI_PLAN)], capture_output=True,
                          text=True, check=False, env={**os.environ, "TMPDIR": str(tmp_path)})
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "内部错误" in done.stderr and "注入的缺陷" in done.stderr
    (saved,) = tmp_path.glob("edureport-error-*.txt")
    assert "Traceback" in saved.read_text(encoding="utf-8")


def test_log_rotation_keeps_the_log_of_a_running_build(tmp_path: Path) -> None:
    import fcntl

    logs = tmp_path / "logs"
    logs.mkdir()
    running = logs / "20200101-000000.log"
    running.write_text("x", encoding="utf-8")
    with running.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_SH)  # as a build that is still writing it holds it
        (logs / "20200102-000000.log").write_text("x", encoding="utf-8")
        run("build", "--out", tmp_path, "--only", "nope:1", "--keep-logs", 1)
        assert running.exists() and not (logs / "20200102-000000.log").exists()


@pytest.mark.parametrize("kind", ["symlink", "fifo", "folder", "no-parent"])
def test_validation_summary_never_replaces_a_special_file(mini_data: Path, tmp_path: Path, kind: str) -> None:
    target = tmp_path / "summary.txt"
    precious = tmp_path / "precious.txt"
    precious.write_text("keep", encoding="utf-8")
    if kind == "symlink":
        target.symlink_to(precious)
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "folder":
        target.mkdir()
    else:
        target = tmp_path / "nowhere" / "summary.txt"
    result = run("validate", mini_data, "--plan", MINI_PLAN, "--summary", target)
    assert result.exit_code == 2 and "无法写入" in result.stderr
    assert precious.read_text(encoding="utf-8") == "keep" and not (tmp_path / "nowhere").exists()
    assert kind != "symlink" or target.is_symlink()


def test_paths_that_are_not_utf8(mini_data: Path, tmp_path: Path) -> None:
    """GBK folder names: validation reads them; a build, whose reports carry the paths, refuses them."""
    odd = Path(os.fsdecode(str(tmp_path).encode() + b"/" + "数据".encode("gbk")))
    mini_data.rename(odd)
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    done = subprocess.run([sys.executable, "-m", "edureport", "validate", str(odd), "--plan", str(MINI_PLAN)],
                          capture_output=True, check=False, env=env)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    done = subprocess.run([sys.executable, "-m", "edureport", "build", "--data", str(odd), "--plan", str(MINI_PLAN),
                           "--out", str(tmp_path / "out"), "--as-of", "2024-06-30"], capture_output=True, check=False,
                          env=env)
    said = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 2 and "不是 UTF-8 编码" in said and "Traceback" not in said, said

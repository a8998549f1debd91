"""`edureport import` never loses or corrupts data: it changes only the files it owns, as one transaction
under the data folder's lock; kills at any instant leave the old or the new state; two imports at once
both land; readers (validate, build) always see one state."""

from __future__ import annotations

import codecs
import contextlib
import csv
import multiprocessing
import os
import random
import shutil
import stat
import time
from pathlib import Path

import pytest

from edureport.intake.importer import LOG

from .conftest import MINI, run, small_disk, tree_digest

MINI_PLAN = MINI / "plan.yaml"
OBS = "period,school_id,township,indicator_id,value,numerator,denominator\n"


def submission(tmp_path: Path, town: str = "东镇", value: int = 5, title: str = "新活动") -> list[Path]:
    """A plain observations table and an activities table for one township and February 2024."""
    folder = tmp_path / f"sub-{town}-{value}"
    folder.mkdir(exist_ok=True)
    obs = folder / "observations.csv"
    obs.write_text(OBS + f"2024-02,,{town},A2,{value},,\n", encoding="utf-8")
    acts = folder / "activities.csv"
    acts.write_text("date,task,township,school_id,title,participants\n"
                    f"2024-02-10,1,{town},,{title},{value}\n", encoding="utf-8")
    return [obs, acts]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    dest = tmp_path / "data"
    shutil.copytree(MINI / "data", dest)
    return dest


def do_import(files: list[Path], data: Path, *extra: str):
    return run("import", *files, "--data", data, "--plan", MINI_PLAN, *extra)


def rows(path: Path) -> list[list[str]]:
    return list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))


# ---- finding 1 and 4: nothing it does not own ------------------------------------------------------


def test_import_leaves_what_it_does_not_own_untouched(data: Path, tmp_path: Path) -> None:
    originals = data / "原始报送"
    (originals / "2024-02").mkdir(parents=True)
    (originals / "2024-02" / "东镇-2024-02.xlsx").write_bytes(b"original workbook bytes")
    (data / "说明.txt").write_text("本文件夹由教体局统计股维护", encoding="utf-8")
    (data / "上月备份.csv").symlink_to(data / "observations.csv")
    before = tree_digest(originals)
    result = do_import(submission(tmp_path), data)
    assert result.exit_code == 0, result.output + result.stderr
    assert tree_digest(originals) == before, "the sub-folder and its files are kept"
    assert (data / "说明.txt").read_text(encoding="utf-8") == "本文件夹由教体局统计股维护"
    assert (data / "上月备份.csv").is_symlink()
    assert sorted(p.name for p in data.iterdir()) == sorted(
        ["原始报送", "说明.txt", "上月备份.csv", LOG, "activities.csv", "baselines.csv", "observations.csv",
         "projects.csv", "schools.csv", "townships.csv"]), "no leftovers, nothing removed"


def test_kept_rows_encoding_line_endings_and_columns_stay_byte_for_byte(data: Path, tmp_path: Path) -> None:
    """A GBK file with CRLF line endings, an extra column, an unnamed trailing column and a
    whitespace-only row: the rows outside the replaced scope keep their exact bytes."""
    path = data / "observations.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[0] += ",填表人,"  # an extra column and an unnamed empty one
    lines[1:] = [line + ",张三," for line in lines[1:]]
    lines.insert(3, "   ,  ,,,,,,,")  # a whitespace-only row (was a bare AssertionError)
    text = "\r\n".join(lines) + "\r\n"
    path.write_bytes(text.encode("gbk"))
    result = do_import(submission(tmp_path), data)
    assert result.exit_code == 0, result.output + result.stderr
    after = path.read_bytes()
    after.decode("gbk")  # still GBK
    assert not after.startswith(codecs.BOM_UTF8)
    kept = [line.encode("gbk") + b"\r\n" for line in lines if ",2024-02,,东镇,A2," not in f",{line}"]
    assert after.startswith(b"".join(kept)), "every other row (and the header) byte for byte, in order"
    assert after.split(b"\r\n")[-2] == "2024-02,,东镇,A2,5,,,,".encode("gbk"), "the new row in the file's own form"
    assert b"Unnamed" not in after and after.count(b"\n") == after.count(b"\r\n")


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_permissions_owner_and_group_are_kept(data: Path, tmp_path: Path) -> None:
    """A group-only folder (2770, files 0660, another owner and group) stays group-only."""
    os.chmod(data, 0o2770)
    for p in data.iterdir():
        os.chown(p, 4321, 1234)
        os.chmod(p, 0o660)
    os.chown(data, 4321, 1234)
    result = do_import(submission(tmp_path), data)
    assert result.exit_code == 0, result.output + result.stderr
    assert stat.S_IMODE(data.stat().st_mode) == 0o2770 and (data.stat().st_uid, data.stat().st_gid) == (4321, 1234)
    for p in data.iterdir():
        st = p.stat()
        assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o660, 4321, 1234), p.name


def test_extended_attributes_such_as_acls_are_kept(data: Path, tmp_path: Path) -> None:
    path = data / "observations.csv"
    try:
        os.setxattr(path, "user.origin", "统计股".encode())
    except OSError:
        pytest.skip("this file system has no extended attributes")
    assert do_import(submission(tmp_path), data).exit_code == 0
    assert os.getxattr(path, "user.origin").decode() == "统计股"


def test_symlinked_data_folder_is_written_through(data: Path, tmp_path: Path) -> None:
    month = tmp_path / "2024-02"
    data.rename(month)
    current = tmp_path / "current"
    current.symlink_to(month.name)
    result = do_import(submission(tmp_path), current)
    assert result.exit_code == 0, result.output + result.stderr
    assert current.is_symlink() and os.readlink(current) == month.name
    assert ["2024-02", "", "东镇", "A2", "5", "", ""] in rows(month / "observations.csv")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_table_linked_inside_the_folder_is_written_through(data: Path, tmp_path: Path) -> None:
    (data / "2024").mkdir()
    (data / "activities.csv").rename(data / "2024" / "activities.csv")
    (data / "activities.csv").symlink_to(Path("2024") / "activities.csv")
    assert do_import(submission(tmp_path), data).exit_code == 0
    assert (data / "activities.csv").is_symlink()
    assert any(r[4] == "新活动" for r in rows(data / "2024" / "activities.csv"))


@pytest.mark.parametrize("name", ["import-log.csv", "activities.csv"])
def test_a_link_out_of_the_folder_is_never_written_through(data: Path, tmp_path: Path, name: str) -> None:
    """Anyone who can write the data folder could plant import-log.csv -> somebody's .bashrc; and two
    folders sharing a linked table would overwrite each other's imports."""
    victim = tmp_path / "victim" / "bashrc"
    victim.parent.mkdir()
    victim.write_text("echo hello\n" if name == LOG else (data / name).read_text(encoding="utf-8"), encoding="utf-8")
    (data / name).unlink(missing_ok=True)
    (data / name).symlink_to(victim)
    before, kept = tree_digest(data), victim.read_bytes()
    result = do_import(submission(tmp_path), data)
    assert result.exit_code == 2 and "数据文件夹之外" in result.stderr, result.output + result.stderr
    assert victim.read_bytes() == kept and tree_digest(data) == before


@pytest.mark.parametrize("kind", ["folder", "fifo", "zero"])
def test_an_import_log_that_is_not_a_file_is_refused(data: Path, tmp_path: Path, kind: str) -> None:
    log = data / LOG
    if kind == "folder":
        log.mkdir()
    elif kind == "fifo":
        os.mkfifo(log)
    else:
        log.symlink_to("/dev/zero")
    result = do_import(submission(tmp_path), data)
    said = "数据文件夹之外" if kind == "zero" else "不是普通文件"
    assert result.exit_code == 2 and said in result.stderr, result.output + result.stderr


def test_an_import_log_with_an_open_quote_is_refused_and_an_empty_one_restarted(data: Path, tmp_path: Path) -> None:
    (data / LOG).write_text('时间,文件\n2024-01-01,"unfinished\n', encoding="utf-8")
    result = do_import(submission(tmp_path), data)
    assert result.exit_code == 2 and "引号没有配对" in result.stderr
    (data / LOG).write_bytes(b"")
    assert do_import(submission(tmp_path), data).exit_code == 0
    assert rows(data / LOG)[0][:3] == ["时间", "文件", "SHA256"]


def test_a_form_named_in_gbk_is_imported_under_its_chinese_name(data: Path, tmp_path: Path) -> None:
    """A file name from a Windows zip or USB stick: its bytes are GBK, not UTF-8."""
    import subprocess
    import sys

    form = tmp_path / "form.xlsx"
    assert run("template", form, "--township", "西镇", "--period", "2024-05", "--data", data,
               "--plan", MINI_PLAN).exit_code == 0
    import openpyxl

    book = openpyxl.load_workbook(form)
    row = next(r for r in book["指标数据"].iter_rows(min_row=2) if r[4].value == "A2")
    row[7].value = 4
    book.save(form)
    odd = os.fsdecode(str(tmp_path).encode() + b"/" + "西镇-2024-05.xlsx".encode("gbk"))
    os.rename(form, odd)
    done = subprocess.run([sys.executable, "-m", "edureport", "import", odd, "--data", str(data), "--plan",
                           str(MINI_PLAN)], capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    assert rows(data / LOG)[-1][1] == "西镇-2024-05.xlsx"


def test_text_that_excel_would_run_is_neutralised_in_data_and_log(data: Path, tmp_path: Path) -> None:
    """OWASP CSV injection (finding 10): =, +, -, @ at the start of a title, and a form named =….xlsx."""
    hostile = ["=cmd|' /C calc'!A0", '=HYPERLINK("http://x","点击")', "+1+1", "@SUM(A1:A9)", "-2+3"]
    for n, title in enumerate(hostile):
        files = submission(tmp_path, value=n + 1, title='"' + title.replace('"', '""') + '"')
        assert do_import(files, data, "--replace").exit_code == 0  # each replaces the last one's activity
        stored = rows(data / "activities.csv")
        assert [r[4] for r in stored if r[0] == "2024-02-10"] == ["'" + title]
    form = tmp_path / "=HYPERLINK(1).xlsx"
    assert run("template", form, "--township", "西镇", "--period", "2024-05", "--data", data,
               "--plan", MINI_PLAN).exit_code == 0
    import openpyxl

    book = openpyxl.load_workbook(form)
    ws = book["指标数据"]
    row = next(r for r in ws.iter_rows(min_row=2) if r[4].value == "A2")
    row[7].value = 3
    book.save(form)
    result = do_import([form], data)
    assert result.exit_code == 0, result.output + result.stderr
    assert rows(data / LOG)[-1][1] == "'=HYPERLINK(1).xlsx"
    for table in ("activities.csv", "observations.csv", LOG):
        for line in rows(data / table):
            assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in line), (table, line)
    # reading takes the apostrophe off again: the reports show what the unit typed
    from edureport.data.store import load_data
    from edureport.plan.load import load_plan

    assert hostile[-1] in set(load_data(data, load_plan(MINI_PLAN)).activities["title"])
    again = do_import(submission(tmp_path, value=5, title='"-2+3"'), data, "--replace")
    assert "数据没有变化" in again.output, "re-importing the same text changes nothing"


def test_a_plain_table_that_would_delete_rows_needs_replace(data: Path, tmp_path: Path) -> None:
    """A one-row plain table covers a whole township-month: the other rows of that month would go."""
    before = tree_digest(data)
    obs = tmp_path / "observations.csv"
    obs.write_text(OBS + "2024-01,,东镇,A2,2,,\n", encoding="utf-8")  # 东镇 2024-01 also has school rows
    result = do_import([obs], data)
    assert result.exit_code == 2 and "--replace" in result.stderr and "将被删除" in result.stderr, result.stderr
    assert tree_digest(data) == before
    result = do_import([obs], data, "--replace")
    assert result.exit_code == 0 and "删除" in result.output


# ---- finding 2: two imports at once ----------------------------------------------------------------


def _child(args: list[str], env: dict[str, str], go) -> None:
    os.environ.update(env)
    if go is not None:
        go.wait(30)
    from edureport.cli.main import cli

    cli.main(args=args, prog_name="edureport")


def _ctx():
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["edureport.cli.main", "edureport.intake.importer", "edureport.data.validate"])
    return ctx


def test_two_concurrent_imports_of_different_townships_both_land(data: Path, tmp_path: Path) -> None:
    ctx = _ctx()
    env = {"EDUREPORT_CACHE_DIR": os.environ["EDUREPORT_CACHE_DIR"]}
    pristine = tmp_path / "pristine"
    shutil.copytree(data, pristine)
    subs = {town: submission(tmp_path, town, value) for town, value in (("东镇", 7), ("西镇", 9))}
    for round_ in range(20):
        shutil.rmtree(data)
        shutil.copytree(pristine, data)
        go = ctx.Event()
        procs = [ctx.Process(target=_child, args=(["import", *map(str, files), "--data", str(data), "--plan",
                                                   str(MINI_PLAN)], env, go)) for files in subs.values()]
        for p in procs:
            p.start()
        go.set()
        for p in procs:
            p.join(60)
        assert [p.exitcode for p in procs] == [0, 0], round_
        obs = rows(data / "observations.csv")
        assert ["2024-02", "", "东镇", "A2", "7", "", ""] in obs and ["2024-02", "", "西镇", "A2", "9", "", ""] in obs
        log = rows(data / LOG)
        assert sorted(r[4] for r in log[1:]) == ["东镇", "东镇", "西镇", "西镇"], round_


def _hold(data: Path, seconds: float):
    """Another process holding the folder's exclusive lock (as an import does) for ``seconds``."""
    import subprocess
    import sys

    code = ("import sys, time\nfrom edureport.data import datafolder\n"
            f"with datafolder.lock({str(data)!r}, exclusive=True):\n"
            "    print('held', flush=True)\n    time.sleep(float(sys.argv[1]))\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(seconds)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_import_queues_or_with_no_wait_exits_3(data: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    holder = _hold(data, 3)
    result = do_import(submission(tmp_path), data, "--no-wait")
    assert result.exit_code == 3 and "另一个导入" in result.stderr
    started = time.perf_counter()
    queued = subprocess.run([sys.executable, "-m", "edureport", "import", *map(str, submission(tmp_path)), "--data",
                             str(data), "--plan", str(MINI_PLAN)], capture_output=True, text=True, check=False)
    assert time.perf_counter() - started > 2.0 and holder.wait(10) == 0, "it waited for the other import"
    assert queued.returncode == 0 and "排队等待" in queued.stderr and "已写入" in queued.stdout, queued.stderr


def test_readers_wait_for_an_import_and_say_so(data: Path) -> None:
    holder = _hold(data, 2)
    started = time.perf_counter()
    checked = run("validate", data, "--plan", MINI_PLAN)
    assert checked.exit_code == 0 and time.perf_counter() - started > 1.5, "it waited for the import"
    assert "等它完成后再读取" in checked.stderr
    assert holder.wait(10) == 0


def test_a_full_data_folder_refuses_the_import_and_keeps_the_data(data: Path, tmp_path: Path) -> None:
    with small_disk(tmp_path / "small", "64k") as folder:
        shutil.copytree(data, folder / "data")
        filler = folder / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)  # fill the disk, then free two pages:
        with contextlib.suppress(OSError):  # the journal fits, the new data do not
            while True:
                os.write(fd, b"\0" * 4096)
        os.close(fd)
        os.truncate(filler, max(0, filler.stat().st_size - 8192))
        before = tree_digest(folder / "data")
        big = tmp_path / "activities.csv"
        big.write_text("date,task,township,school_id,title,participants\n" + "".join(
            f"2024-02-{d:02d},1,东镇,,活动{n}{'长' * 40},{n}\n" for n in range(300) for d in (n % 28 + 1,)),
            encoding="utf-8")
        result = do_import([big], folder / "data")
        assert result.exit_code == 2, result.output + result.stderr
        assert "磁盘已满" in result.stderr and "Traceback" not in result.output
        assert tree_digest(folder / "data") == before and not list((folder / "data").glob(".*"))


def test_a_recovery_killed_halfway_is_finished_by_the_next_reader(data: Path, tmp_path: Path) -> None:
    ctx = _ctx()
    env = {"EDUREPORT_CACHE_DIR": os.environ["EDUREPORT_CACHE_DIR"]}
    files = submission(tmp_path)
    reference = tmp_path / "reference"
    shutil.copytree(data, reference)
    assert do_import(files, reference).exit_code == 0
    args = ["import", *map(str, files), "--data", str(data), "--plan", str(MINI_PLAN)]
    proc = ctx.Process(target=_child, args=(args, {**env, "EDUREPORT_KILL_AT": "committed"}, None))
    proc.start()
    proc.join(60)
    assert proc.exitcode == -9
    reader = ctx.Process(target=_child, args=(["validate", str(data), "--plan", str(MINI_PLAN)],
                                               {**env, "EDUREPORT_KILL_AT": "renamed-1"}, None))
    reader.start()
    reader.join(60)
    assert reader.exitcode == -9, "the reader was killed in the middle of finishing the import"
    assert run("validate", data, "--plan", MINI_PLAN).exit_code == 0
    assert state(data) == state(reference)


# ---- finding 3 and the kill test -------------------------------------------------------------------

STEPS = ["locked", "prepared", "temp-1", "temp-2", "temp-3", "committed", "renamed-1", "renamed-2", "renamed-3",
         "finished"]


def state(folder: Path) -> dict[str, object]:
    """Every file's digest, the import log compared without its time column (it differs run to run)."""
    out: dict[str, object] = {k: v for k, v in tree_digest(folder).items() if k != LOG}
    if (folder / LOG).exists():
        out[LOG] = [r[1:] for r in rows(folder / LOG)]
    return out


def test_kill_at_any_moment_leaves_the_old_or_the_new_state(data: Path, tmp_path: Path) -> None:
    """kill -9 of an import at every step of the journal and at 22 random moments: afterwards
    `edureport validate` passes and the folder (data and log) is exactly the old or the new one."""
    ctx = _ctx()
    env = {"EDUREPORT_CACHE_DIR": os.environ["EDUREPORT_CACHE_DIR"]}
    files = submission(tmp_path)
    old = state(data)
    new_dir = tmp_path / "new"
    shutil.copytree(data, new_dir)
    args = ["import", *map(str, files), "--data", str(new_dir), "--plan", str(MINI_PLAN)]
    started = time.perf_counter()
    proc = ctx.Process(target=_child, args=(args, env, None))
    proc.start()
    proc.join(60)
    took = time.perf_counter() - started
    assert proc.exitcode == 0
    new = state(new_dir)
    assert old != new and LOG in new and LOG not in old
    rng = random.Random(12)
    moments = [(step, None) for step in STEPS] + [(None, rng.uniform(0, took)) for _ in range(22)]
    outcomes = []
    for step, delay in moments:
        shutil.rmtree(data)
        shutil.copytree(MINI / "data", data)
        args = ["import", *map(str, files), "--data", str(data), "--plan", str(MINI_PLAN)]
        proc = ctx.Process(target=_child, args=(args, {**env, "EDUREPORT_KILL_AT": step or ""}, None))
        proc.start()
        if delay is not None:
            time.sleep(delay)
            with contextlib.suppress(ProcessLookupError):  # it may have finished already
                os.kill(proc.pid, 9)
        proc.join(60)
        assert proc.exitcode in (-9, 0), (step, delay, proc.exitcode)
        if step is not None:
            assert proc.exitcode == -9, f"the import reached step {step}"
        checked = run("validate", data, "--plan", MINI_PLAN)
        assert checked.exit_code == 0, (step, delay, checked.stderr)
        after = state(data)
        assert after in (old, new), (step, delay, after)
        outcomes.append("new" if after == new else "old")
    assert {"old", "new"} <= set(outcomes), outcomes
    assert len(moments) >= 30


def test_recovery_rolls_a_committed_import_forward_and_a_prepared_one_back(data: Path) -> None:
    from edureport.data import datafolder, journal

    target = data / "observations.csv"
    before = target.read_bytes()
    with datafolder.lock(data, exclusive=True):
        txn = journal.Transaction(data)
        txn.put("observations.csv", b"new\n")
        txn.prepare()
    assert journal.pending(data) and target.read_bytes() == before
    assert run("validate", data, "--plan", MINI_PLAN).exit_code == 0  # readers finish it: rolled back
    assert not journal.pending(data) and target.read_bytes() == before
    assert not list(data.glob(".*"))
    with datafolder.lock(data, exclusive=True):
        txn = journal.Transaction(data)
        txn.put("notes.csv", b"x\n")
        txn.prepare()
        txn._journal("committed")  # as if killed right after the commit point
    with datafolder.lock(data, exclusive=True):
        assert journal.recover(data) == "rolled-forward"
    assert (data / "notes.csv").read_bytes() == b"x\n" and not journal.pending(data)


def test_a_read_only_copy_with_an_uncommitted_import_is_read_as_it_was(data: Path, tmp_path: Path) -> None:
    """A backup snapshot taken mid-import: never committed, so the old data stand and can be read."""
    import subprocess

    from edureport.data import datafolder, journal

    with small_disk(tmp_path / "snapshot", "1m") as copy:
        shutil.copytree(data, copy / "data")
        with datafolder.lock(copy / "data", exclusive=True):
            txn = journal.Transaction(copy / "data")
            txn.put("observations.csv", b"new\n")
            txn.prepare()
        subprocess.run(["mount", "-o", "remount,ro", str(copy)], check=True)
        result = run("validate", copy / "data", "--plan", MINI_PLAN)
        assert result.exit_code == 0, result.stderr


def test_dry_run_changes_nothing_not_even_an_interrupted_import(data: Path, tmp_path: Path) -> None:
    from edureport.data import datafolder, journal

    with datafolder.lock(data, exclusive=True):
        txn = journal.Transaction(data)
        txn.put("observations.csv", b"new\n")
        txn.prepare()
    before = tree_digest(data)
    result = do_import(submission(tmp_path), data, "--dry-run")
    assert result.exit_code == 3 and "未完成的导入" in result.stderr
    assert tree_digest(data) == before
    assert run("validate", data, "--plan", MINI_PLAN).exit_code == 0
    before = tree_digest(data)
    result = do_import(submission(tmp_path), data, "--dry-run")
    assert result.exit_code == 0 and "试运行" in result.output and tree_digest(data) == before


def test_a_missing_data_folder_is_named_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("validate", "data/demo", "--plan", MINI_PLAN)
    assert result.exit_code == 2 and f"data/demo（{tmp_path}/data/demo）" in result.stderr and "不存在" in result.stderr
    result = run("status", "--data", "data/demo", "--plan", MINI_PLAN)
    assert result.exit_code == 2, "another folder's data/demo is not the project's demo data"

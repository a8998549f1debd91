"""``edureport send`` and ``build --send`` against real servers started here: an SMTP server (aiosmtpd,
plain, STARTTLS and SSL with a test CA) and an HTTP server standing in for the DingTalk and WeCom robots.
Messages arrive, attachments are the very PDFs, DingTalk's signature verifies with the secret, nothing is
sent twice, a changed report is sent again, one failing target stops no other and stays unmarked, a dry
run sends nothing, a failed build alerts the administrators only, and no secret appears anywhere."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from edureport.deliver import send as send_module
from edureport.deliver.distribution import load_distribution
from edureport.deliver.send import send_build

from .conftest import DEMO, PLAN_2023, run
from .send_servers import Mailbox, Robots, make_certificate, robot_server, smtp_server

# aiosmtpd's warning for AUTH on its implicit-SSL server (see send_servers.smtp_server): the connection is encrypted
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")

AS_OF = "2023-12-31"
LEADERS = ["juzhang@example.org", "fujuzhang@example.org"]
TUKE, ADMIN = "tuke@example.org", "admin@example.org"
DING_SECRET, DING_TOKEN, WECOM_KEY, OPS_KEY = "SECtest-9c1e77f0d2ab", "TOKEN-ding-5f3a0b91", "KEY-wecom-77aa31c4", "KEY-ops-0d9e55"
SMTP_PASSWORD = "smtp-pw-4b8e2f17"
ALL_TARGETS = {*(f"email:{a}" for a in LEADERS), "robot:局领导群", f"email:{TUKE}", "robot:图克镇群"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small real build (the review and one township), shared; each test sends from a copy."""
    from edureport.batch.build import build

    out = tmp_path_factory.mktemp("send-build")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EDUREPORT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        summary = build(plan_file=PLAN_2023, data_dir=DEMO, as_of=AS_OF, out=out, only=["review", "township:图克镇"], jobs=2)
    assert not summary.failed, [r.error for r in summary.failed]
    return out


@pytest.fixture
def out(built: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "out"
    shutil.copytree(built, dest)
    return dest


def folder_of(out: Path) -> Path:
    return out / "2023" / AS_OF


def manifest(out: Path) -> dict:
    return json.loads((folder_of(out) / "manifest.json").read_text(encoding="utf-8"))


def entry(out: Path, key: str) -> dict:
    return next(e for e in manifest(out)["reports"] if e["key"] == key)


def sent_log(out: Path) -> dict:
    path = folder_of(out) / "send-log.json"
    return json.loads(path.read_text(encoding="utf-8"))["sent"] if path.exists() else {}


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Mailbox, Robots]]:
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")  # the robots are local, whatever proxy is set
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with smtp_server() as box, robot_server() as robots:
        robots.secrets["leaders"] = DING_SECRET
        monkeypatch.setenv("T_DING_URL", f"{robots.base}/dingtalk/leaders?access_token={DING_TOKEN}")
        monkeypatch.setenv("T_DING_SECRET", DING_SECRET)
        monkeypatch.setenv("T_WECOM_URL", f"{robots.base}/wecom/tuke?key={WECOM_KEY}")
        monkeypatch.setenv("T_OPS_URL", f"{robots.base}/wecom/ops?key={OPS_KEY}")
        yield box, robots


def distribution(tmp_path: Path, box: Mailbox, *, email: str = "", extra: str = "", tuke_robot: str = "",
                 admins: bool = True, township: str = "图克镇", leader_reports: str = '[review, "section:*"]') -> Path:
    email = email or f"  host: 127.0.0.1\n  port: {box.port}\n  security: none\n"
    tuke_robot = tuke_robot or "{type: wecom, webhook_env: T_WECOM_URL}"
    admin = f"administrators:\n  email: {ADMIN}\n  robots: [运维群]\n" if admins else ""
    text = f"""\
link_base: https://intranet.example.org/edureport/
email:
{email}  sender: edureport@example.org
  timeout: 10
robots:
  局领导群: {{type: dingtalk, webhook_env: T_DING_URL, secret_env: T_DING_SECRET}}
  图克镇群: {tuke_robot}
  运维群: {{type: wecom, webhook_env: T_OPS_URL}}
recipients:
  - name: 局领导
    reports: {leader_reports}
    email: [{', '.join(LEADERS)}]
    robots: [局领导群]
townships:
  {township}: {{email: {TUKE}, robots: [图克镇群]}}
{admin}{extra}"""
    path = tmp_path / "distribution.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def send(out: Path, dist: Path, *args: str):
    return run("send", "--plan", PLAN_2023, "--out", out, "--distribution", dist, *args)


def body(msg) -> str:
    return msg.get_body(("plain",)).get_content()


def attachments(msg) -> list[tuple[str, bytes]]:
    return [(part.get_filename(), part.get_content()) for part in msg.iter_attachments()]


def test_each_report_goes_to_its_recipients_once(out: Path, tmp_path: Path, servers) -> None:
    box, robots = servers
    dist = distribution(tmp_path, box)
    result = send(out, dist)
    assert result.exit_code == 0, result.output
    review, tuke = entry(out, "review"), entry(out, "township:图克镇")
    review_pdf = (folder_of(out) / review["files"]["pdf"]["path"]).read_bytes()
    tuke_pdf = (folder_of(out) / tuke["files"]["pdf"]["path"]).read_bytes()
    for address in LEADERS:
        [msg] = box.to(address)
        assert msg["To"] == address  # one message per address: leaders do not see each other's
        assert msg["Subject"] == f"{review['title']}（截至2023年12月31日）"  # the title names the bureau already
        text = body(msg)
        assert f"指标 {sum(review['headline'].values())} 项：达标 {review['headline']['达标']} 项" in text
        assert "https://intranet.example.org/edureport/2023/2023-12-31/pdf/year-end-review.pdf" in text
        assert "全部报告的目录：https://intranet.example.org/edureport/2023/2023-12-31/index.html" in text
        assert attachments(msg) == [(f"{review['title']}.pdf", review_pdf)]  # byte for byte
    [msg] = box.to(TUKE)
    assert msg["Subject"] == f"【乌审旗教育体育局】{tuke['title']}（截至2023年12月31日）"
    assert attachments(msg) == [(f"{tuke['title']}.pdf", tuke_pdf)] and body(msg).startswith("图克镇：")
    assert box.to(ADMIN) == []  # nothing failed: no alert
    [ding] = robots.of("leaders")
    assert ding["verified"] is True and ding["query"]["access_token"] == [DING_TOKEN]
    assert ding["body"]["msgtype"] == "markdown" and review["title"] in ding["body"]["markdown"]["text"]
    assert "https://intranet.example.org/edureport/2023/2023-12-31/html/year-end-review.html" in ding["body"]["markdown"]["text"]
    [wecom] = robots.of("tuke")
    assert tuke["title"] in wecom["body"]["markdown"]["content"] and robots.of("ops") == []
    log = sent_log(out)
    assert set(log) == ALL_TARGETS
    assert log[f"email:{TUKE}"]["township:图克镇"]["sha256"] == tuke["files"]["pdf"]["sha256"]
    assert log["robot:局领导群"]["review"]["recipient"] == "局领导"

    again = send(out, dist)  # nothing changed: nothing is sent
    assert again.exit_code == 0, again.output
    assert len(box.messages) == 3 and len(robots.received) == 2
    assert "成功 0，失败 0，无新内容 5" in again.output


def test_a_changed_report_is_sent_again_to_its_recipients_only(out: Path, tmp_path: Path, servers) -> None:
    box, robots = servers
    dist = distribution(tmp_path, box)
    assert send(out, dist).exit_code == 0
    doc = manifest(out)
    tuke = next(e for e in doc["reports"] if e["key"] == "township:图克镇")
    pdf = folder_of(out) / tuke["files"]["pdf"]["path"]
    pdf.write_bytes(pdf.read_bytes() + b"\n% rebuilt with new data\n")
    tuke["files"]["pdf"]["sha256"] = __import__("hashlib").sha256(pdf.read_bytes()).hexdigest()
    (folder_of(out) / "manifest.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    result = send(out, dist)
    assert result.exit_code == 0, result.output
    assert len(box.to(TUKE)) == 2 and len(robots.of("tuke")) == 2
    assert attachments(box.to(TUKE)[-1])[0][1] == pdf.read_bytes()
    assert all(len(box.to(a)) == 1 for a in LEADERS) and len(robots.of("leaders")) == 1
    assert sent_log(out)[f"email:{TUKE}"]["township:图克镇"]["sha256"] == tuke["files"]["pdf"]["sha256"]


@pytest.mark.parametrize(("breaks", "target", "words"), [
    ("smtp-refuses", f"email:{LEADERS[1]}", f"拒收 {LEADERS[1]}"),
    ("http-500", "robot:图克镇群", "HTTP 500"),
    ("errcode", "robot:局领导群", "errcode 310000"),
    ("wecom-errcode", "robot:图克镇群", "errcode 310000"),
])
def test_one_failing_target_stops_no_other_and_stays_unmarked(out: Path, tmp_path: Path, servers, breaks: str,
                                                              target: str, words: str) -> None:
    box, robots = servers
    dist = distribution(tmp_path, box)
    {"smtp-refuses": lambda: box.refuse.add(LEADERS[1]), "http-500": lambda: robots.broken.add("tuke"),
     "errcode": lambda: robots.refusing.add("leaders"), "wecom-errcode": lambda: robots.refusing.add("tuke")}[breaks]()
    result = send(out, dist)
    assert result.exit_code == 1
    assert "发送失败" in result.output and words in result.output
    assert set(sent_log(out)) == ALL_TARGETS - {target}
    before = (len(box.messages), len(robots.received))
    box.refuse.clear(), robots.broken.clear(), robots.refusing.clear()
    retry = send(out, dist)  # only the target that failed gets its message now
    assert retry.exit_code == 0, retry.output
    assert set(sent_log(out)) == ALL_TARGETS and "成功 1，失败 0，无新内容 4" in retry.output
    assert (len(box.messages), len(robots.received)) == (before[0] + target.startswith("email:"),
                                                         before[1] + target.startswith("robot:"))
    assert all(len(box.to(a)) == 1 for a in [*LEADERS, TUKE])  # nobody got anything twice


def test_dry_run_lists_everything_and_sends_nothing(out: Path, tmp_path: Path, servers) -> None:
    box, robots = servers
    result = send(out, distribution(tmp_path, box), "--dry-run")
    assert result.exit_code == 0, result.output
    assert box.messages == [] and robots.received == []
    assert not (folder_of(out) / "send-log.json").exists()
    for label in [*LEADERS, TUKE, "钉钉群机器人“局领导群”", "企业微信群机器人“图克镇群”"]:
        assert any(line.startswith("将发送") and label in line for line in result.output.splitlines()), label
    assert "附件 1 个" in result.output and "将发送 5 条消息" in result.output


def test_a_failed_report_is_withheld_and_the_administrators_alerted_once(out: Path, tmp_path: Path, servers) -> None:
    box, robots = servers
    doc = manifest(out)
    tuke = next(e for e in doc["reports"] if e["key"] == "township:图克镇")
    tuke.update(status="failed", error=f"{tuke['title']}：ZeroDivisionError: division by zero")
    (folder_of(out) / "manifest.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    dist = distribution(tmp_path, box)
    result = send(out, dist)
    assert result.exit_code == 0, result.output
    assert box.to(TUKE) == [] and robots.of("tuke") == []  # not even its last good files
    [alert] = box.to(ADMIN)
    assert "告警" in alert["Subject"] and "ZeroDivisionError" in body(alert)
    assert tuke["title"] in body(alert) and list(alert.iter_attachments()) == []
    [ops] = robots.of("ops")
    assert "ZeroDivisionError" in ops["body"]["markdown"]["content"]
    assert all(len(box.to(a)) == 1 for a in LEADERS)  # the reports that did build still go
    assert "生成失败，没有发送" in result.output
    assert send(out, dist).exit_code == 0
    assert len(box.to(ADMIN)) == 1 and len(robots.of("ops")) == 1  # one alert per build


def test_build_send_sends_after_the_build(out: Path, tmp_path: Path, servers) -> None:
    box, robots = servers
    result = run("build", "--plan", PLAN_2023, "--data", DEMO, "--out", out, "--only", "review", "--only",
                 "township:图克镇", "--send", "--distribution", distribution(tmp_path, box), "-q")
    assert result.exit_code == 0, result.output
    assert {rcpt for _, rcpts, _ in box.messages for rcpt in rcpts} == {*LEADERS, TUKE}
    assert len(robots.received) == 2 and set(sent_log(out)) == ALL_TARGETS


@pytest.mark.parametrize(("bad", "words"), [("data", "数据文件夹不存在"), ("plan", "工作要点文件有误")])
def test_build_send_alerts_instead_when_the_build_stops_on_bad_input(out: Path, tmp_path: Path, servers, bad: str,
                                                                     words: str) -> None:
    box, robots = servers
    plan, data = PLAN_2023, DEMO
    if bad == "data":
        data = tmp_path / "no-such-data"
    else:
        plan = tmp_path / "plan-2023.yaml"
        plan.write_text("title: 只有标题的工作要点\n", encoding="utf-8")
    result = run("build", "--plan", plan, "--data", data, "--out", out, "--send",
                 "--distribution", distribution(tmp_path, box), "-q")
    assert result.exit_code == 2
    [alert] = box.to(ADMIN)
    assert [rcpts for _, rcpts, _ in box.messages] == [[ADMIN]]  # the alert only
    assert "构建失败" in alert["Subject"] and words in body(alert)
    assert [r["robot"] for r in robots.received] == ["ops"]


def test_build_send_checks_the_distribution_before_building(out: Path, tmp_path: Path, servers) -> None:
    box, _ = servers
    dist = distribution(tmp_path, box, extra="colour: red\n")
    before = (folder_of(out) / "manifest.json").read_bytes()
    result = run("build", "--plan", PLAN_2023, "--data", DEMO, "--out", out, "--send", "--distribution", dist, "-q")
    assert result.exit_code == 2 and "分发名单文件有误" in result.output and "colour" in result.output
    assert (folder_of(out) / "manifest.json").read_bytes() == before and box.messages == []


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_encrypted_smtp_with_the_test_ca_and_a_password_from_an_owner_only_file(
        out: Path, tmp_path: Path, servers, monkeypatch: pytest.MonkeyPatch, security: str) -> None:
    cert = make_certificate(tmp_path)
    creds = tmp_path / "credentials.env"
    creds.write_text(f"T_SMTP_PASSWORD={SMTP_PASSWORD}\n", encoding="utf-8")
    creds.chmod(0o600)
    monkeypatch.delenv("T_SMTP_PASSWORD", raising=False)

    def server(box: Mailbox) -> str:
        return (f"  host: 127.0.0.1\n  port: {box.port}\n  security: {security}\n  username: edureport\n"
                "  password_env: T_SMTP_PASSWORD\n")

    with smtp_server(security, cert, SMTP_PASSWORD) as box:
        trusted = distribution(tmp_path, box, email=f"{server(box)}  ca_file: {cert[0]}\n",
                               extra=f"credentials_file: {creds}\n")
        result = send(out, trusted)
        assert result.exit_code == 0, result.output
        assert {a for _, rcpts, _ in box.messages for a in rcpts} == {*LEADERS, TUKE}
        assert box.logins and all(login == "edureport" for login, _ in box.logins)
        assert SMTP_PASSWORD not in result.output
    with smtp_server(security, cert, SMTP_PASSWORD) as box:  # the test CA not given: refused, not waved through
        plain = distribution(tmp_path, box, email=server(box), extra=f"credentials_file: {creds}\n")
        (folder_of(out) / "send-log.json").unlink()
        result = send(out, plain)
        assert result.exit_code == 1 and box.messages == []
        assert "证书校验未通过" in result.output and "email.ca_file" in result.output


def test_no_secret_appears_in_any_output_log_or_message(out: Path, tmp_path: Path, servers,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    _, robots = servers
    robots.broken.add("tuke")  # an error message is where a URL with its key would leak
    cert = make_certificate(tmp_path)
    monkeypatch.setenv("T_SMTP_PASSWORD", SMTP_PASSWORD)
    with smtp_server("starttls", cert, SMTP_PASSWORD) as tls:
        server = (f"  host: 127.0.0.1\n  port: {tls.port}\n  security: starttls\n  username: edureport\n"
                  f"  password_env: T_SMTP_PASSWORD\n  ca_file: {cert[0]}\n")
        dist = distribution(tmp_path, tls, email=server)
        outputs = [send(out, dist, "--dry-run").output, send(out, dist).output]
        outputs.append(run("build", "--plan", PLAN_2023, "--data", DEMO, "--out", out, "--only", "review", "--only",
                           "township:图克镇", "--send", "--distribution", dist).output)
        outputs.append(run("build", "--plan", PLAN_2023, "--data", tmp_path / "none", "--out", out, "--send",
                           "--distribution", dist).output)
        mails = [msg.as_string() for _, _, msg in tls.messages]
    logs = [p.read_text(encoding="utf-8") for p in (out / "logs").glob("*.log")]
    written = [(folder_of(out) / "send-log.json").read_text(encoding="utf-8"), *logs]
    robot_posts = [json.dumps(r["body"], ensure_ascii=False) for r in robots.received]
    assert mails and logs and "HTTP 500" in "".join(outputs)
    for secret in (SMTP_PASSWORD, DING_SECRET, DING_TOKEN, WECOM_KEY, OPS_KEY):
        for text in [*outputs, *written, *mails, *robot_posts]:
            assert secret not in text


def test_a_kill_between_sends_leaves_the_first_recorded_and_the_second_not(out: Path, tmp_path: Path, servers,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    box, _ = servers
    dist = load_distribution(distribution(tmp_path, box))
    real, calls = send_module.deliver, []

    def dies_on_the_second(d, build, dist, *rest):
        calls.append(d.target)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C or a kill in the middle of the second send
        real(d, build, dist, *rest)

    monkeypatch.setattr(send_module, "deliver", dies_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        send_build(folder_of(out), dist)
    first, second = calls
    assert set(sent_log(out)) == {first} and second not in sent_log(out)
    assert not list(folder_of(out).glob("*send-log.json.*"))  # no temporary file left
    monkeypatch.setattr(send_module, "deliver", real)
    summary = send_build(folder_of(out), dist)  # the rest goes; the first is not sent again
    assert {d.target for d in summary.sent} == ALL_TARGETS - {first} and set(sent_log(out)) == ALL_TARGETS
    assert all(len(box.to(a)) == 1 for a in [*LEADERS, TUKE])


def test_one_send_at_a_time(out: Path, tmp_path: Path, servers) -> None:
    box, _ = servers
    holder = send_module._acquire(folder_of(out))
    try:
        result = send(out, distribution(tmp_path, box))
    finally:
        holder.close()
    assert result.exit_code == 3 and "另一个 edureport send" in result.output and box.messages == []


@pytest.mark.parametrize(("prepare", "words"), [
    (lambda folder: (folder / "manifest.json").unlink(), "没有可发送的构建"),
    (lambda folder: (folder / "send-log.json").write_text("{broken", encoding="utf-8"), "发送记录"),
])
def test_nothing_to_send_from_is_exit_code_2(out: Path, tmp_path: Path, servers, prepare, words: str) -> None:
    box, _ = servers
    prepare(folder_of(out))
    result = send(out, distribution(tmp_path, box))
    assert result.exit_code == 2 and words in result.output and box.messages == []


def rewrite_manifest(out: Path, change) -> None:
    doc = manifest(out)
    change(doc)
    (folder_of(out) / "manifest.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def test_a_report_rewritten_after_the_build_is_not_sent_under_the_old_description(out: Path, tmp_path: Path,
                                                                                   servers) -> None:
    box, robots = servers
    pdf = folder_of(out) / entry(out, "township:图克镇")["files"]["pdf"]["path"]
    pdf.write_bytes(pdf.read_bytes() + b"\n% half of another build\n")  # the manifest still has the old SHA-256
    result = send(out, distribution(tmp_path, box))
    assert result.exit_code == 1
    assert "报告文件在发送时已被改写" in result.output
    assert box.to(TUKE) == [] and robots.of("tuke") == []  # neither the file nor a link to it
    assert all(len(box.to(a)) == 1 for a in LEADERS)  # the others go
    assert not {f"email:{TUKE}", "robot:图克镇群"} & set(sent_log(out))


def test_a_build_starting_during_a_send_does_not_break_its_log(out: Path, tmp_path: Path, servers,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The build clears its own leftovers (.*.tmp) when it starts: never the send log's temporary file."""
    import os

    from edureport.batch.build import _clear_leftovers

    box, _ = servers
    real = os.replace

    def build_starts_now(src, dst, *args, **kwargs):
        if str(dst).endswith("send-log.json"):
            _clear_leftovers(folder_of(out))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", build_starts_now)
    result = send(out, distribution(tmp_path, box))
    assert result.exit_code == 0, result.output
    assert set(sent_log(out)) == ALL_TARGETS


def test_send_waits_for_no_build_and_a_build_for_no_send(out: Path, tmp_path: Path, servers,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from edureport.batch.lock import BuildLock
    from edureport.core.errors import BuildLockedError

    box, robots = servers
    with BuildLock(out):  # a build is rewriting the reports: no send now
        result = send(out, distribution(tmp_path, box))
    assert result.exit_code == 3 and "edureport build 正在使用输出文件夹" in result.output
    assert box.messages == [] and robots.received == []
    refused, real = [], send_module.deliver

    def a_build_tries_to_start(*args):
        try:
            BuildLock(out).acquire()
        except BuildLockedError as exc:
            refused.append(str(exc))
        real(*args)

    monkeypatch.setattr(send_module, "deliver", a_build_tries_to_start)
    result = run("build", "--plan", PLAN_2023, "--data", DEMO, "--out", out, "--only", "review", "--only",
                 "township:图克镇", "--send", "--distribution", distribution(tmp_path, box), "-q")
    assert result.exit_code == 0, result.output
    assert len(refused) == 5  # build --send sends while its build still holds the lock


@pytest.mark.parametrize("lost", ["pdf", "all"])
def test_a_report_whose_files_are_missing_is_withheld_and_alerted(out: Path, tmp_path: Path, servers,
                                                                  lost: str) -> None:
    box, robots = servers
    tuke = entry(out, "township:图克镇")
    for kind, item in tuke["files"].items():
        if lost == "all" or kind == "pdf":
            (folder_of(out) / item["path"]).unlink()
    result = send(out, distribution(tmp_path, box))
    assert result.exit_code == 1, result.output
    assert box.to(TUKE) == [] and robots.of("tuke") == []  # not sent under the HTML's identity either
    [alert] = box.to(ADMIN)
    assert tuke["title"] in body(alert) and "文件缺失" in body(alert)
    assert "不在这次构建中" not in result.output and f"{tuke['title']}的文件缺失，没有发送（已告警给管理员）" in result.output
    assert all(len(box.to(a)) == 1 for a in LEADERS)


def test_the_attachment_is_said_per_report(out: Path, tmp_path: Path, servers) -> None:
    box, _ = servers
    docx = folder_of(out) / "docx" / "year-end-review.docx"
    docx.parent.mkdir(exist_ok=True)
    docx.write_bytes(b"PK fake docx")
    rewrite_manifest(out, lambda doc: next(e for e in doc["reports"] if e["key"] == "review")["files"].update(
        docx={"path": "docx/year-end-review.docx", "sha256": __import__("hashlib").sha256(b"PK fake docx").hexdigest()}))
    result = send(out, distribution(tmp_path, box, extra="attach: [docx]\n", leader_reports='["*"]'))
    assert result.exit_code == 0, result.output
    [msg] = box.to(LEADERS[0])
    text = body(msg)
    assert f"{entry(out, 'review')['title']}（文件见附件）" in text
    assert f"{entry(out, 'township:图克镇')['title']}（文件见附件）" not in text
    assert "报告文件见附件。" not in text and "其余报告请从上面的链接打开" in text
    assert [name for name, _ in attachments(msg)] == [f"{entry(out, 'review')['title']}.docx"]


@pytest.mark.parametrize(("extra", "words"), [("attach: []\n", "报告请从上面的链接打开"),
                                              ("max_attachment_mb: 0.0001\n", "报告请从上面的链接打开")])
def test_links_only_without_attachments_or_over_the_size_limit(out: Path, tmp_path: Path, servers, extra: str,
                                                               words: str) -> None:
    box, _ = servers
    dist = distribution(tmp_path, box, extra=extra)
    dry = send(out, dist, "--dry-run")
    assert "只发链接" in dry.output or "改发链接" in dry.output
    result = send(out, dist)
    assert result.exit_code == 0, result.output
    for address in [*LEADERS, TUKE]:
        [msg] = box.to(address)
        assert attachments(msg) == [] and words in body(msg) and "见附件" not in body(msg)
        assert "https://intranet.example.org/edureport/2023/2023-12-31/pdf/" in body(msg)


def _fail_tuke(out: Path) -> None:
    def change(doc):
        tuke = next(e for e in doc["reports"] if e["key"] == "township:图克镇")
        tuke.update(status="failed", error="ZeroDivisionError")
    rewrite_manifest(out, change)


def test_the_alert_is_said_sent_only_when_it_went(out: Path, tmp_path: Path, servers) -> None:
    box, robots = servers
    _fail_tuke(out)
    dry = send(out, distribution(tmp_path, box), "--dry-run")
    assert "将告警给管理员" in dry.output and "已告警" not in dry.output
    nobody = send(out, distribution(tmp_path, box, admins=False))
    assert "未告警（分发名单没有设置管理员" in nobody.output and "已告警" not in nobody.output
    box.refuse.add(ADMIN)
    robots.broken.add("ops")
    failed = send(out, distribution(tmp_path, box))
    assert failed.exit_code == 1 and "告警未能发出" in failed.output and "已告警" not in failed.output
    box.refuse.clear()
    robots.broken.clear()
    sent = send(out, distribution(tmp_path, box))
    assert sent.exit_code == 0 and "（已告警给管理员）" in sent.output and len(box.to(ADMIN)) == 1


@pytest.mark.parametrize("only", [False, True])
def test_a_misspelt_unit_is_an_error_unless_the_build_made_some_reports_only(out: Path, tmp_path: Path, servers,
                                                                           only: bool) -> None:
    box, _ = servers
    if not only:  # as a full build's manifest: every unit's report is in it
        rewrite_manifest(out, lambda doc: doc.update(only=[]))
    result = send(out, distribution(tmp_path, box, township="图克真"))
    if only:
        assert result.exit_code == 0 and "不在这次构建中" in result.output
    else:
        assert result.exit_code == 2 and "township:图克真" in result.output and "名称是否写错" in result.output
        assert "苏木镇" in result.output and box.messages == []  # the plan's word for its units


def test_a_send_log_that_cannot_be_written_stops_sending_and_says_what_went(out: Path, tmp_path: Path, servers,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from edureport.deliver import sendlog

    box, robots = servers
    real, writes = sendlog._write, []

    def full_disk_on_the_second(path, data):
        writes.append(path)
        if len(writes) == 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, data)

    monkeypatch.setattr(sendlog, "_write", full_disk_on_the_second)
    result = send(out, distribution(tmp_path, box))
    assert result.exit_code == 1
    assert "但未能记入发送记录（下次会重发）" in result.output and "磁盘已满" in result.output
    assert len(box.messages) + len(robots.received) == 2 and len(sent_log(out)) == 1  # stopped there


def test_build_send_alerts_on_a_crash_and_exit_code_3_when_a_send_runs(out: Path, tmp_path: Path, servers,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from edureport.cli import build as build_cli

    box, _ = servers
    dist = distribution(tmp_path, box)
    holder = send_module._acquire(folder_of(out))
    try:
        result = run("build", "--plan", PLAN_2023, "--data", DEMO, "--out", out, "--only", "review", "--only",
                     "township:图克镇", "--send", "--distribution", dist, "-q")
    finally:
        holder.close()
    assert result.exit_code == 3 and "另一个 edureport send" in result.output and box.messages == []

    def crashes(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(build_cli, "build", crashes)
    with pytest.raises(RuntimeError):
        run("build", "--plan", PLAN_2023, "--data", DEMO, "--out", out, "--send", "--distribution", dist, "-q")
    [alert] = box.to(ADMIN)
    assert "构建出错" in alert["Subject"] and "RuntimeError" in body(alert)


def test_chinese_attachment_names_in_both_encodings_over_one_connection(out: Path, tmp_path: Path, servers,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    cert = make_certificate(tmp_path)
    monkeypatch.setenv("T_SMTP_PASSWORD", SMTP_PASSWORD)
    with smtp_server("starttls", cert, SMTP_PASSWORD) as box:
        server = (f"  host: 127.0.0.1\n  port: {box.port}\n  security: starttls\n  username: edureport\n"
                  f"  password_env: T_SMTP_PASSWORD\n  ca_file: {cert[0]}\n")
        box.refuse.add(LEADERS[0])
        result = send(out, distribution(tmp_path, box, email=server))
        assert result.exit_code == 1 and f"拒收 {LEADERS[0]}" in result.output
        assert len(box.logins) == 1  # one connection and login for the run; the refused address failed alone
        assert {a for _, rcpts, _ in box.messages for a in rcpts} == {LEADERS[1], TUKE}
        raw = box.raw[0]
    assert b'name="=?utf-8?b?' in raw and b"filename*" in raw  # RFC 2047 and RFC 2231
    [(name, _)] = attachments(box.to(LEADERS[1])[0])
    assert name == f"{entry(out, 'review')['title']}.pdf"


def test_a_robot_that_never_answers_fails_alone(out: Path, tmp_path: Path, servers) -> None:
    box, robots = servers
    robots.silent.add("tuke")
    dist = distribution(tmp_path, box, tuke_robot="{type: wecom, webhook_env: T_WECOM_URL, timeout: 1}")
    result = send(out, dist)
    assert result.exit_code == 1 and "没有在 1 秒内回复" in result.output
    assert set(sent_log(out)) == ALL_TARGETS - {"robot:图克镇群"}


def test_a_kill_after_the_server_took_the_message_sends_it_again_never_loses_it(
        out: Path, tmp_path: Path, servers, monkeypatch: pytest.MonkeyPatch) -> None:
    """The one gap docs/delivery.md names: accepted by the server, killed before the log was written."""
    from edureport.deliver.sendlog import SendLog

    box, _ = servers
    dist = load_distribution(distribution(tmp_path, box))
    real = SendLog.record

    def killed_before_writing(self, *args):
        raise KeyboardInterrupt

    monkeypatch.setattr(SendLog, "record", killed_before_writing)
    with pytest.raises(KeyboardInterrupt):
        send_build(folder_of(out), dist)
    [(_, [first], _)] = box.messages  # delivered, not recorded
    monkeypatch.setattr(SendLog, "record", real)
    send_build(folder_of(out), dist)
    assert len(box.to(first)) == 2  # sent twice, never lost
    assert set(sent_log(out)) == ALL_TARGETS

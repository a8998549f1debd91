"""The distribution file (params/distribution.yaml) and the parts of delivery that need no server: every
problem located and listed at once, credentials only from the environment or an owner-only file, report
selectors, DingTalk's signature, robot message limits, the send log refusing a damaged file."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import pickle
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from edureport.core.errors import DistributionError, SendLogError
from edureport.deliver.credentials import Secret, redact
from edureport.deliver.distribution import Robot, load_distribution
from edureport.deliver.messages import ROBOT_BYTES, fit, headline
from edureport.deliver.reports import picks, read_build
from edureport.deliver.robots import robot_url
from edureport.deliver.sendlog import SendLog

from .conftest import ROOT

BASE = """\
email:
  host: smtp.example.org
  sender: edureport@example.org
recipients:
  - name: 局领导
    reports: [review]
    email: leader@example.org
"""


def write(tmp_path: Path, text: str, name: str = "distribution.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list:
    with pytest.raises(DistributionError) as caught:
        load_distribution(path, "苏木镇")
    return caught.value.problems


def test_the_example_in_the_docs_is_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = (ROOT / "docs" / "delivery.md").read_text(encoding="utf-8")
    example = re.search(r"## 分发名单.*?```yaml\n(.*?)```", doc, re.S).group(1)
    secrets = {"EDUREPORT_SMTP_PASSWORD": "pw-123456", "EDUREPORT_DINGTALK_LEADERS": "https://oapi.dingtalk.com/robot/send?access_token=t1",
               "EDUREPORT_DINGTALK_LEADERS_SECRET": "SEC-abcdef", "EDUREPORT_WECOM_TUKE": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k1",
               "EDUREPORT_WECOM_OPS": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k2"}
    creds = tmp_path / "credentials.env"
    creds.write_text("".join(f"{k}={v}\n" for k, v in secrets.items()), encoding="utf-8")
    creds.chmod(0o600)
    path = write(tmp_path, example.replace("/etc/edureport/credentials.env", str(creds)))
    dist = load_distribution(path, "苏木镇")
    assert [r.name for r in dist.recipients] == ["局领导", "办公室", "图克镇", "乌审召镇"]
    assert dist.recipients[1].email == ("bangongshi@example.org",)  # one address alone is a list of one
    assert dist.recipients[2].reports == ("township:图克镇",) and dist.recipients[2].robots == ("图克镇群",)
    assert dist.email.security == "ssl" and dist.email.port == 465 and dist.email.password.reveal() == "pw-123456"
    assert dist.robots["局领导群"].secret.reveal() == "SEC-abcdef"
    assert dist.administrators.email == ("admin@example.org",) and dist.attach == ("pdf", "docx")
    assert dist.link_base == "https://intranet.example.org/edureport/"
    assert not any(v in repr(dist) for v in secrets.values())  # a printed Distribution shows names only


@pytest.mark.parametrize(("text", "column", "words"), [
    (BASE + "colour: red\n", "colour", "未知字段"),
    (BASE.replace("[review]", "[reviw]"), "recipients[1].reports", "没有这种报告"),
    (BASE.replace("leader@example.org", "leader@example"), "recipients[1].email", "不是有效的邮件地址"),
    (BASE + "    robots: [局领导群]\n", "recipients[1].robots", "没有这个机器人"),
    (BASE.replace("  sender:", "  username: u\n  password_env: EDUREPORT_TEST_UNSET\n  sender:"), "email.password_env",
     "环境变量 EDUREPORT_TEST_UNSET 未设置"),
    (BASE.replace("  sender:", "  username: u\n  password_env: hunter2 secret\n  sender:"), "email.password_env",
     "应写环境变量名"),
    (BASE.replace("  sender:", "  username: u\n  sender:"), "email.username", "须同时给出"),
    (BASE.replace("  sender:", "  security: none\n  username: u\n  password_env: HOME\n  sender:"), "email.security",
     "不能发送密码"),
    (BASE.replace("  sender:", "  security: tls\n  sender:"), "email.security", "应为 ssl、starttls 或 none"),
    (BASE.replace("  sender:", "  port: 70000\n  sender:"), "email.port", "不超过 65535"),
    (BASE.replace("edureport@example.org", "报告"), "email.sender", "不是有效的邮件地址"),
    (BASE.replace("email:\n  host: smtp.example.org\n  sender: edureport@example.org\n", ""), "email", "没有 email"),
    (BASE + "robots:\n  群: {type: wecom, webhook_env: HOME, secret_env: HOME}\n", "robots.群.secret_env", "没有签名密钥"),
    (BASE + "robots:\n  群: {type: lark, webhook_env: HOME}\n", "robots.群.type", "dingtalk"),
    (BASE + "robots:\n  群: {type: wecom, webhook_env: HOME}\n", "robots.群.webhook_env", "不是 http"),
    (BASE + "robots:\n  群: {type: wecom, webhook_env: T_PLAIN_HOOK}\n", "robots.群.webhook_env", "只能用 https://"),
    (BASE + "robots:\n  群: {type: wecom, webhook_env: T_SPACED_HOOK}\n", "robots.群.webhook_env", "控制字符"),
    (BASE + "robots:\n  群: {type: wecom}\n", "robots.群.webhook_env", "缺少这一项"),
    (BASE + "townships: [图克镇]\n", "townships", "苏木镇名称"),
    (BASE + "  - name: 局领导\n    reports: review\n    email: b@example.org\n", "recipients", "名称重复"),
    (BASE + "  - name: 办公室\n    reports: review\n", "recipients[2]", "没有接收方式"),
    (BASE + "  - name: 办公室\n    email: b@example.org\n", "recipients[2].reports", "缺少要接收的报告"),
    ("email: {host: h, sender: a@example.org}\n", "recipients", "没有任何收件人"),
    (BASE + "attach: [pdf, xls]\n", "attach", "可附带的格式"),
    (BASE + "attach: []\n", "link_base", "须给出 link_base"),
    (BASE + "link_base: intranet/edureport\n", "link_base", "http://"),
    (BASE + "max_attachment_mb: -1\n", "max_attachment_mb", "大于 0"),
    (BASE + "schema_version: 2\n", "schema_version", "schema_version: 1"),
    (BASE + "credentials_file: nowhere.env\n", "credentials_file", "文件不存在"),
    (BASE.replace("  sender:", "  ca_file: nowhere.pem\n  sender:"), "email.ca_file", "文件不存在"),
])
def test_each_problem_is_named_with_its_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str,
                                             column: str, words: str) -> None:
    monkeypatch.delenv("EDUREPORT_TEST_UNSET", raising=False)
    monkeypatch.setenv("HOME", "/root")  # an env var that is set, but is no URL
    monkeypatch.setenv("T_PLAIN_HOOK", "http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k")
    monkeypatch.setenv("T_SPACED_HOOK", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k\n")
    found = problems(write(tmp_path, text))
    hits = [p for p in found if p.column == column and words in p.message]
    assert hits, [p.format() for p in found]
    assert hits[0].row is not None and hits[0].file == "distribution.yaml"


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    text = BASE.replace("[review]", "[reviw]").replace("leader@example.org", "leader@") + "colour: red\nattach: [xls]\n"
    found = problems(write(tmp_path, text))
    assert {p.column for p in found} == {"recipients[1].reports", "recipients[1].email", "colour", "attach"}


def test_a_broken_yaml_file_is_a_located_problem(tmp_path: Path) -> None:
    [problem] = problems(write(tmp_path, BASE + "  - name: [unclosed\n"))
    assert problem.row is not None and "YAML" in problem.message


@pytest.mark.parametrize(("mode", "words"), [(0o644, "chmod 600"), (0o640, "chmod 600"), (0o600, None)])
def test_the_credentials_file_must_be_the_owners_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: int,
                                                        words: str | None) -> None:
    monkeypatch.delenv("EDUREPORT_TEST_PW", raising=False)
    creds = tmp_path / "creds.env"
    creds.write_text("# 邮件\nexport EDUREPORT_TEST_PW='pw-from-the-file'\n", encoding="utf-8")
    creds.chmod(mode)
    text = BASE.replace("  sender:", "  username: u\n  password_env: EDUREPORT_TEST_PW\n  sender:")
    path = write(tmp_path, f"credentials_file: {creds.name}\n" + text)  # relative to the distribution file
    if words is None:
        assert load_distribution(path).email.password.reveal() == "pw-from-the-file"
    else:
        found = problems(path)
        assert any(words in p.message and p.file == str(creds) for p in found), [p.format() for p in found]


def test_the_environment_comes_before_the_credentials_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    creds = tmp_path / "creds.env"
    creds.write_text("EDUREPORT_TEST_PW=from-file\n", encoding="utf-8")
    creds.chmod(0o600)
    monkeypatch.setenv("EDUREPORT_TEST_PW", "from-environment")
    text = f"credentials_file: {creds}\n" + BASE.replace("  sender:", "  username: u\n  password_env: EDUREPORT_TEST_PW\n  sender:")
    assert load_distribution(write(tmp_path, text)).email.password.reveal() == "from-environment"


def test_a_bad_credentials_line_is_located_without_quoting_it(tmp_path: Path) -> None:
    creds = tmp_path / "creds.env"
    creds.write_text("EDUREPORT_A=1\nthe password is hunter2-secret\n", encoding="utf-8")
    creds.chmod(0o600)
    found = problems(write(tmp_path, f"credentials_file: {creds}\n" + BASE))
    assert [(p.file, p.row) for p in found] == [(str(creds), 2)]
    assert "hunter2" not in found[0].format()


def test_a_secret_shows_only_its_name_and_never_pickles() -> None:
    secret = Secret("EDUREPORT_SMTP_PASSWORD", "s3cret-value")
    assert "s3cret" not in repr(secret) and "s3cret" not in str(secret) and "s3cret" not in f"{[secret]}"
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    said = "登录失败：s3cret-value；https://x/?t=s3cret%2Dvalue"
    assert "s3cret" not in redact(said.replace("%2D", "-"), [secret]) and "***" in redact(said, [secret])


def test_dingtalk_signature_is_what_dingtalk_documents() -> None:
    """timestamp(ms) + "\\n" + secret, HMAC-SHA256 keyed by the secret, base64, URL-encoded; &timestamp=…&sign=…"""
    robot = Robot("群", "dingtalk", Secret("U", "https://oapi.dingtalk.com/robot/send?access_token=abc"), Secret("S", "SECxyz"))
    url = robot_url(robot, 1700000000000)
    query = parse_qs(urlsplit(url).query)
    expected = base64.b64encode(hmac.new(b"SECxyz", b"1700000000000\nSECxyz", hashlib.sha256).digest()).decode()
    assert query == {"access_token": ["abc"], "timestamp": ["1700000000000"], "sign": [expected]}
    assert "+" not in url.split("sign=")[1] and "/" not in url.split("sign=")[1]  # URL-encoded
    unsigned = Robot("群", "wecom", Secret("U", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"))
    assert robot_url(unsigned, 1) == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"


def _fake_build(tmp_path: Path) -> Path:
    folder = tmp_path / "2023" / "2023-06-30"
    (folder / "pdf").mkdir(parents=True)
    entries = []
    for key, kind, params in [("review", "review", {}), ("section:2", "section", {"section": "二"}),
                              ("township:图克镇", "township", {"township": "图克镇"})]:
        pdf = folder / "pdf" / f"{key.replace(':', '-')}.pdf"
        pdf.write_bytes(b"%PDF " + key.encode())
        entries.append({"key": key, "kind": kind, "title": key, "parameters": params, "status": "built",
                        "files": {"pdf": {"path": str(pdf.relative_to(folder)), "sha256": "x" * 64}}})
    entries.append({"key": "township:../../etc", "kind": "township", "title": "外部文件", "status": "built",
                    "files": {"pdf": {"path": "../../../etc/passwd", "sha256": "y" * 64}}})
    (folder / "manifest.json").write_text(json.dumps({"as_of": "2023-06-30", "reports": entries}), encoding="utf-8")
    return folder


@pytest.mark.parametrize(("selector", "chosen"), [
    ("review", ["review"]),
    ("section:2", ["section:2"]),
    ("section:二", ["section:2"]),  # as the plan numbers it
    ("section:*", ["section:2"]),
    ("township:*", ["township:图克镇"]),
    ("township:图克镇", ["township:图克镇"]),
    ("township:图克", []),
    ("*", ["review", "section:2", "township:图克镇"]),
])
def test_selectors_pick_reports(tmp_path: Path, selector: str, chosen: list[str]) -> None:
    build = read_build(_fake_build(tmp_path))
    assert [r.key for r in build.reports if picks(r, (selector,))] == chosen


def test_a_manifest_cannot_point_outside_the_build(tmp_path: Path) -> None:
    build = read_build(_fake_build(tmp_path))
    assert "township:../../etc" not in [r.key for r in build.reports]


@pytest.mark.parametrize("kind", ["wecom", "dingtalk"])
def test_robot_messages_stay_within_the_robots_limit(kind: str) -> None:
    markdown = "### 标题\n" + "\n".join(f"- [图克镇{i}号报告](https://x.example.org/{i})：达标 1 项" for i in range(600))
    cut = fit(markdown, kind)
    assert len(cut.encode()) <= ROBOT_BYTES[kind] and cut.endswith("行未显示，请打开目录页或查收邮件")
    assert fit("### 短消息", kind) == "### 短消息"


def test_headline_leaves_out_empty_statuses() -> None:
    assert headline({"达标": 67, "进展正常": 0, "滞后": 0, "未达标": 9, "无数据": 0}) == "指标 76 项：达标 67 项，未达标 9 项"
    assert headline(None) == ""


@pytest.mark.parametrize("content", ["{not json", '{"version": 9, "sent": {}}', '{"version": 1, "sent": []}', "[]",
                                     '{"version": 1, "sent": {"email:a@example.org": {"review": 3}}}'])
def test_a_damaged_send_log_is_refused_not_taken_as_empty(tmp_path: Path, content: str) -> None:
    (tmp_path / "send-log.json").write_text(content, encoding="utf-8")
    with pytest.raises(SendLogError, match="重新发送"):
        SendLog.read(tmp_path)


def test_the_send_log_is_replaced_whole(tmp_path: Path) -> None:
    log = SendLog.read(tmp_path)
    log.record("email:a@example.org", "局领导", [("review", "a" * 64, "年度工作总结")])
    again = SendLog.read(tmp_path)
    assert again.already("email:a@example.org", "review", "a" * 64)
    assert not again.already("email:a@example.org", "review", "b" * 64)
    assert os.listdir(tmp_path) == ["send-log.json"]  # no temporary file left
    assert (tmp_path / "send-log.json").stat().st_mode & 0o077 == 0  # it lists addresses: the owner's only


@pytest.mark.parametrize("written", ["MyP@ssw0rd!", "https://oapi.dingtalk.com/robot/send?access_token=9f8e7d6c5b4a",
                                     "SECa9f8e7d6c5b4a3928170f6e5d4c3b2a1", "q7ZkR2mXw9TfB4nLp8Hs"])
@pytest.mark.parametrize("field", ["password_env", "secret_env", "webhook_env"])
def test_a_credential_written_where_its_variable_name_belongs_is_never_shown(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, written: str, field: str) -> None:
    monkeypatch.delenv(written, raising=False)
    if field == "password_env":
        text = BASE.replace("  sender:", f"  username: u\n  password_env: '{written}'\n  sender:")
    else:
        monkeypatch.setenv("T_HOOK", "https://oapi.dingtalk.com/robot/send?access_token=t")
        spec = f"{{type: dingtalk, webhook_env: T_HOOK, secret_env: '{written}'}}" if field == "secret_env" \
            else f"{{type: dingtalk, webhook_env: '{written}'}}"
        text = BASE + f"robots:\n  群: {spec}\n"
    with pytest.raises(DistributionError) as caught:
        load_distribution(write(tmp_path, text), "苏木镇")
    shown = caught.value.render(50) + "".join(p.format() for p in caught.value.problems)
    assert "不是凭据本身（值不显示）" in shown
    for part in (written, written[3:], written.split("=")[-1]):
        assert part not in shown


def test_an_environment_variable_name_is_not_taken_for_a_credential() -> None:
    from edureport.deliver.distribution import looks_secret

    for name in ("EDUREPORT_SMTP_PASSWORD", "EDUREPORT_DINGTALK_LEADERS_SECRET", "SECRET_DING", "HOME", "T_PW_2023"):
        assert not looks_secret(name), name


def test_a_second_bureau_sees_its_own_word_for_its_units(tmp_path: Path) -> None:
    """Messages name the units in the plan's word, never the sample bureau's."""
    from edureport.deliver.send import check_units

    folder = _fake_build(tmp_path)
    text = BASE.replace("[review]", "[]") + "townships:\n  东城街: {email: d@example.org}\n"
    found = problems(write(tmp_path, text.replace("苏木镇", "")))
    assert any("township:<" in p.message for p in found)
    dist = load_distribution(write(tmp_path, BASE + "townships:\n  东城街: {email: d@example.org}\n"), "街道")
    with pytest.raises(DistributionError) as caught:
        check_units(read_build(folder), dist)
    said = caught.value.render(50)
    assert "township:东城街" in said and "街道" in said
    for sample in ("图克镇", "苏木镇", "全旗", "乡镇"):
        assert sample not in said
    with pytest.raises(DistributionError) as caught:
        load_distribution(write(tmp_path, BASE.replace("[review]", "[]")), "街道")
    assert "township:<街道名称>" in caught.value.render(50) and "图克镇" not in caught.value.render(50)


def test_cutting_a_robot_message_keeps_the_index_link() -> None:
    lines = "\n".join(f"- [图克镇{i}号报告](https://x.example.org/{i})：达标 1 项" for i in range(600))
    markdown = f"### 标题\n\n{lines}\n\n[全部报告的目录](https://x.example.org/index.html)"
    cut = fit(markdown, "wecom")
    assert len(cut.encode()) <= ROBOT_BYTES["wecom"]
    assert cut.startswith("### 标题") and cut.endswith("[全部报告的目录](https://x.example.org/index.html)")
    assert "行未显示" in cut

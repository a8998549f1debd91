"""The distribution file (分发名单, ``params/distribution.yaml``): who receives which reports, and how.

Read with the plan's safe YAML reader (bounded size, depth and aliases; every mapping knows its line) and
checked field by field: every problem found — an unknown field, a report key of no registered report
kind, an address that is not one, a robot nobody defined, a credential whose environment variable is not
set, a credentials file others can read — is listed at once, with its line, as ``DistributionError``.
The format is documented in docs/delivery.md.

Report selectors are a report's key as the build names it (``review``, ``section:2``, ``township:<名称>``),
``kind:parameter`` as the plan writes it (``section:二``), or a pattern with ``*`` (``section:*``, ``*``).
The ``townships`` mapping is shorthand for one recipient per unit receiving its own report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from edureport.core.errors import DistributionError, PlanError, Problem
from edureport.deliver.credentials import ENV_NAME, Secret, lookup, read_credentials_file
from edureport.plan.yamlfile import read_yaml, shown_value
from edureport.report.catalog import report_kinds

FORMATS = ("pdf", "docx", "html")  # what can be attached, in the order attached
SECURITY = {"ssl": 465, "starttls": 587, "none": 25}  # connection security → its usual port
ROBOT_TYPES = {"dingtalk": "钉钉", "wecom": "企业微信"}
# An address as mail servers accept it without SMTPUTF8: ASCII local part and a dotted host name.
ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                     r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+\Z")
TOP_FIELDS = ("schema_version", "link_base", "attach", "max_attachment_mb", "credentials_file", "email", "robots",
              "recipients", "townships", "administrators")
EMAIL_FIELDS = ("host", "port", "security", "username", "password_env", "sender", "sender_name", "ca_file",
                "timeout")
ROBOT_FIELDS = ("type", "webhook_env", "secret_env", "ca_file", "timeout")
CONTACT_FIELDS = ("email", "robots")
_META = ("__line__", "__keys__")  # the reader's line records in every mapping
NEUTRAL_UNIT = "下级单位"  # for the units when the plan (and its word for them) is not known
NOT_A_NAME = ("这里应写环境变量名（字母、数字和下划线，不以数字开头），不是凭据本身（值不显示）；"
              "凭据写在环境变量或凭据文件中")


def looks_secret(value: str) -> bool:
    """Is this ``*_env`` value a credential itself rather than a variable's name? A URL, DingTalk's
    ``SEC…`` signing key, anything that is no variable name, or a long random-looking name."""
    if "://" in value or not ENV_NAME.match(value):
        return True
    if value.startswith("SEC") and not value.isupper():  # SEC + hex digits; SECRET_X would be all capitals
        return True
    # names are capitals joined by _; a long run without _, or in lower or mixed case, is a token
    return (len(value) >= 16 and "_" not in value and not value.isupper()) or (len(value) >= 24 and "_" not in value)


def webhook_problem(url: str) -> str:
    """What is wrong with a webhook address ("" if nothing): it carries a credential, so it goes over
    https only (http only to this machine, for a local test or relay), and a space or control character
    (a line pasted with its line break) would go into the request."""
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return "含有空格、换行或控制字符：请检查复制时是否带上了多余的字符"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or not parts.path.startswith("/"):
        return "不是 https:// 开头的网址"
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        return "以 http:// 开头：Webhook 地址中含有凭据，只能用 https:// 发送"
    return ""


@dataclass(frozen=True)
class EmailServer:
    host: str
    port: int
    security: str  # ssl / starttls / none
    sender: str
    sender_name: str = ""
    username: str = ""
    password: Secret | None = None
    ca_file: str = ""  # a CA bundle to trust instead of the system's (an intranet mail server)
    timeout: float = 30.0


@dataclass(frozen=True)
class Robot:
    name: str
    type: str  # dingtalk / wecom
    webhook: Secret  # the whole webhook URL: its access token is a credential
    secret: Secret | None = None  # DingTalk's signing secret (加签)
    ca_file: str = ""
    timeout: float = 15.0

    @property
    def label(self) -> str:
        return f"{ROBOT_TYPES[self.type]}群机器人“{self.name}”"


@dataclass(frozen=True)
class Recipient:
    name: str
    reports: tuple[str, ...] = ()  # selectors (see the module docstring)
    email: tuple[str, ...] = ()
    robots: tuple[str, ...] = ()


@dataclass(frozen=True)
class Distribution:
    source: str
    recipients: tuple[Recipient, ...] = ()
    administrators: Recipient | None = None  # a failed build alerts them instead
    email: EmailServer | None = None
    robots: dict[str, Robot] = field(default_factory=dict)
    link_base: str = ""  # the URL of the output folder on the intranet ("" = no links)
    attach: tuple[str, ...] = ("pdf", "docx")
    max_attachment_mb: float = 10.0
    unit_label: str = "下级单位"  # the plan's word for the units below the region (苏木镇), for messages

    @property
    def secrets(self) -> list[Secret]:
        """Every credential, for ``credentials.redact``."""
        found = [self.email.password] if self.email and self.email.password else []
        for robot in self.robots.values():
            found += [s for s in (robot.webhook, robot.secret) if s is not None]
            # the token alone (access_token=…, key=…) is as secret as the whole URL
            query = parse_qs(urlsplit(robot.webhook.reveal()).query)
            found += [Secret(robot.webhook.name, v) for values in query.values() for v in values if len(v) >= 4]
        return found


def load_distribution(path: str | Path, unit_label: str = "") -> Distribution:
    """Read and check the distribution file; ``DistributionError`` lists every problem. ``unit_label``:
    the plan's word for the units below the region (苏木镇), for the messages about ``townships`` (a
    neutral word when the plan is not known)."""
    unit_label = unit_label or NEUTRAL_UNIT
    path = Path(path)
    try:
        doc = read_yaml(path, "分发名单文件")
        data = doc.construct()
    except PlanError as exc:
        raise DistributionError(exc.problems) from None
    check = _Check(doc.label, list(doc.problems), path.parent, unit_label)
    dist = check.distribution(data)
    if any(p.is_error for p in check.problems):
        raise DistributionError(check.problems)
    return dist


class _Check:
    """Collects the problems of one distribution file while turning it into a ``Distribution``."""

    def __init__(self, label: str, problems: list[Problem], folder: Path, unit_label: str):
        self.label, self.problems, self.folder, self.unit_label = label, problems, folder, unit_label
        self.stored: dict[str, str] = {}  # the credentials file's values
        self.has_file = False
        self.robot_names: list[str] = []  # every robot defined, valid or not (a recipient may name it)

    def add(self, row: int | None, column: str, message: str, value: Any = "") -> None:
        shown = shown_value(value) if value not in ("", None) else ""
        self.problems.append(Problem(self.label, row=row, column=column, value=shown, message=message))

    @staticmethod
    def line(m: dict, key: str | None = None) -> int | None:
        return (m.get("__keys__") or {}).get(key, m.get("__line__")) if key else m.get("__line__")

    def mapping(self, value: Any, column: str, row: int | None, allowed: tuple[str, ...]) -> dict | None:
        if not isinstance(value, dict):
            self.add(row, column, "应为键值对（字段: 值）", value)
            return None
        for key in value:
            if key not in _META and key not in allowed:
                self.add(self.line(value, key), f"{column}.{key}" if column else str(key),
                         f"未知字段，可用：{'、'.join(allowed)}")
        return value

    def text(self, m: dict, key: str, column: str, *, required: bool = False, default: str = "") -> str:
        value = m.get(key)
        if value is None:
            if required:
                self.add(self.line(m), column, "缺少这一项")
            return default
        if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
            self.add(self.line(m, key), column, "应为一段文字", value)
            return default
        return str(value).strip()

    def number(self, m: dict, key: str, column: str, default: float, *, integer: bool = False,
               low: float = 0, high: float = float("inf")) -> float:
        value = m.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or (integer and not isinstance(value, int)) \
                or not low < value <= high:
            what = "整数" if integer else "数"
            self.add(self.line(m, key), column, f"应为大于 {low:g}{f' 不超过 {high:g} ' if high != float('inf') else ''}的{what}", value)
            return default
        return value

    def secret(self, m: dict, key: str, column: str, *, required: bool = False) -> Secret | None:
        """The credential a ``*_env`` field names. The field's value is never quoted in a problem when it
        looks like a credential written in by mistake (a password, a webhook URL, a DingTalk ``SEC…`` key)."""
        value = m.get(key)
        if isinstance(value, str) and value.strip() and looks_secret(value.strip()):
            self.add(self.line(m, key), column, NOT_A_NAME)
            return None
        name = self.text(m, key, column, required=required)
        if not name:
            return None
        if not ENV_NAME.match(name):
            self.add(self.line(m, key), column, NOT_A_NAME)
            return None
        found = lookup(name, self.stored)
        if found is None:
            where = "，凭据文件中也没有这一行" if self.has_file else "（也没有在 credentials_file 中设置凭据文件）"
            self.add(self.line(m, key), column, f"环境变量 {name} 未设置或为空{where}", name)
        return found

    def path(self, m: dict, key: str, column: str) -> str:
        given = self.text(m, key, column)
        if not given:
            return ""
        p = Path(given).expanduser()
        p = p if p.is_absolute() else self.folder / p
        if not p.is_file():
            self.add(self.line(m, key), column, "文件不存在", given)
        return str(p)

    def strings(self, m: dict, key: str, column: str) -> list[str]:
        """A list of texts; one text alone is taken as a list of one."""
        value = m.get(key)
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        out = []
        for item in items:
            if isinstance(item, str) and item.strip():
                out.append(item.strip())
            else:
                self.add(self.line(m, key), column, "应为文字或文字的列表", item)
        return out

    # --- the sections of the file ---------------------------------------------------------------------

    def distribution(self, data: Any) -> Distribution:
        root = self.mapping(data if data is not None else {}, "", 1, TOP_FIELDS)
        if root is None:
            return Distribution(self.label)
        version = root.get("schema_version", 1)
        if version != 1:
            self.add(self.line(root, "schema_version"), "schema_version", "本版本只认识 schema_version: 1", version)
        self.credentials(root)
        email = self.email(root.get("email"), self.line(root, "email")) if "email" in root else None
        robots = self.robots(root.get("robots"), self.line(root, "robots")) if "robots" in root else {}
        recipients = self.recipients(root)
        admins = None
        if root.get("administrators") is not None:
            m = self.mapping(root["administrators"], "administrators", self.line(root, "administrators"), CONTACT_FIELDS)
            admins = self.contacts(m, "administrators", "管理员", ()) if m is not None else None
        everyone = [*recipients, *([admins] if admins else [])]
        if email is None and any(r.email for r in everyone):
            self.add(self.line(root), "email", "有收件人用邮件接收，但没有 email（发信服务器）一节")
        if not recipients:
            self.add(self.line(root), "recipients", "没有任何收件人（recipients 或 townships）")
        link = self.text(root, "link_base", "link_base")
        if link and not re.match(r"https?://[^/\s]+", link):
            self.add(self.line(root, "link_base"), "link_base", "应为 http:// 或 https:// 开头的网址", link)
        attach = self.strings(root, "attach", "attach") if "attach" in root else ["pdf", "docx"]
        wrong = [a for a in attach if a not in FORMATS]
        if wrong:
            self.add(self.line(root, "attach"), "attach", f"可附带的格式：{'、'.join(FORMATS)}", "、".join(wrong))
        if not attach and not link:
            self.add(self.line(root), "link_base", "不附带文件（attach: []）时须给出 link_base，否则消息中没有报告")
        limit = self.number(root, "max_attachment_mb", "max_attachment_mb", 10.0, high=1024)
        return Distribution(self.label, tuple(recipients), admins, email, robots,
                            link.rstrip("/") + "/" if link else "", tuple(a for a in FORMATS if a in attach), limit,
                            self.unit_label)

    def credentials(self, root: dict) -> None:
        given = self.path(root, "credentials_file", "credentials_file") if "credentials_file" in root else ""
        if given and Path(given).is_file():
            self.stored, problems = read_credentials_file(Path(given), self.label)
            self.problems += problems
            self.has_file = True

    def email(self, value: Any, row: int | None) -> EmailServer | None:
        m = self.mapping(value, "email", row, EMAIL_FIELDS)
        if m is None:
            return None
        security = self.text(m, "security", "email.security", default="ssl")
        if security not in SECURITY:
            self.add(self.line(m, "security"), "email.security", "应为 ssl、starttls 或 none", security)
            security = "ssl"
        port = int(self.number(m, "port", "email.port", SECURITY[security], integer=True, high=65535))
        sender = self.text(m, "sender", "email.sender", required=True)
        if sender and not ADDRESS.match(sender):
            self.add(self.line(m, "sender"), "email.sender", "不是有效的邮件地址", sender)
        username = self.text(m, "username", "email.username")
        password = self.secret(m, "password_env", "email.password_env")
        if bool(username) != ("password_env" in m):
            self.add(self.line(m), "email.username", "username 与 password_env 须同时给出（或都不给，不登录）")
        if security == "none" and "password_env" in m:
            self.add(self.line(m, "security"), "email.security",
                     "不加密的连接（none）不能发送密码：请用 ssl 或 starttls", security)
        return EmailServer(self.text(m, "host", "email.host", required=True), port, security, sender,
                           self.text(m, "sender_name", "email.sender_name"), username, password,
                           self.path(m, "ca_file", "email.ca_file"),
                           self.number(m, "timeout", "email.timeout", 30.0, high=3600))

    def robots(self, value: Any, row: int | None) -> dict[str, Robot]:
        if not isinstance(value, dict):
            self.add(row, "robots", "应为键值对：机器人名称: {type, webhook_env, …}", value)
            return {}
        out = {}
        for name, spec in value.items():
            if name in _META:
                continue
            column = f"robots.{name}"
            self.robot_names.append(str(name))
            m = self.mapping(spec, column, self.line(value, name), ROBOT_FIELDS)
            if m is None:
                continue
            kind = self.text(m, "type", f"{column}.type", required=True)
            if kind and kind not in ROBOT_TYPES:
                self.add(self.line(m, "type"), f"{column}.type", "应为 dingtalk（钉钉）或 wecom（企业微信）", kind)
            webhook = self.secret(m, "webhook_env", f"{column}.webhook_env", required=True)
            if webhook is not None and (why := webhook_problem(webhook.reveal())):
                self.add(self.line(m, "webhook_env"), f"{column}.webhook_env",
                         f"环境变量 {webhook.name} 的值{why}（值不显示）")
            if kind == "wecom" and "secret_env" in m:
                self.add(self.line(m, "secret_env"), f"{column}.secret_env", "企业微信机器人没有签名密钥：只需 webhook_env")
                secret = None
            else:
                secret = self.secret(m, "secret_env", f"{column}.secret_env")
            if kind in ROBOT_TYPES and webhook is not None:
                out[str(name)] = Robot(str(name), kind, webhook, secret, self.path(m, "ca_file", f"{column}.ca_file"),
                                       self.number(m, "timeout", f"{column}.timeout", 15.0, high=3600))
        return out

    def recipients(self, root: dict) -> list[Recipient]:
        out: list[Recipient] = []
        rows: list[int | None] = []  # each recipient's line, for the duplicate check
        listed = root.get("recipients")
        if listed is not None and not isinstance(listed, list):
            self.add(self.line(root, "recipients"), "recipients", "应为列表（每项以“- name:”开头）", listed)
            listed = []
        for i, item in enumerate(listed or [], start=1):
            column = f"recipients[{i}]"
            m = self.mapping(item, column, self.line(root, "recipients"), ("name", "reports", *CONTACT_FIELDS))
            if m is None:
                continue
            name = self.text(m, "name", f"{column}.name", required=True) or f"第{i}项"
            reports = self.selectors(m, column)
            out.append(self.contacts(m, column, name, reports))
            rows.append(self.line(m))
        towns = root.get("townships")
        if towns is not None and not isinstance(towns, dict):
            self.add(self.line(root, "townships"), "townships", f"应为键值对：{self.unit_label}名称: {{email, robots}}", towns)
            towns = {}
        for town, spec in (towns or {}).items():
            if town in _META:
                continue
            column = f"townships.{town}"
            m = self.mapping(spec, column, self.line(towns, town), CONTACT_FIELDS)
            if m is not None:  # "township": the report kind whose reports are one per unit (its key prefix)
                out.append(self.contacts(m, column, str(town), (f"township:{town}",)))
                rows.append(self.line(towns, town))
        seen: set[str] = set()
        for r, row in zip(out, rows, strict=True):
            if r.name in seen:
                self.add(row, "recipients", "收件人名称重复：每个收件人的名称须不同", r.name)
            seen.add(r.name)
        return out

    def selectors(self, m: dict, column: str) -> tuple[str, ...]:
        given = self.strings(m, "reports", f"{column}.reports")
        if not given:
            self.add(self.line(m), f"{column}.reports",
                     f"缺少要接收的报告（如 review、section:*、township:<{self.unit_label}名称>）")
        kinds = [k.name for k in report_kinds()]
        for sel in given:
            kind = sel.split(":", 1)[0]
            if sel != "*" and kind not in kinds:
                self.add(self.line(m, "reports"), f"{column}.reports",
                         f"没有这种报告；报告写作 类型 或 类型:名称，类型可为 {'、'.join(kinds)}，可用 * 表示全部", sel)
        return tuple(given)

    def contacts(self, m: dict, column: str, name: str, reports: tuple[str, ...]) -> Recipient:
        emails = self.strings(m, "email", f"{column}.email")
        for address in emails:
            if not ADDRESS.match(address):
                self.add(self.line(m, "email"), f"{column}.email", "不是有效的邮件地址", address)
        named = self.strings(m, "robots", f"{column}.robots")
        for robot in named:
            if robot not in self.robot_names:
                known = "、".join(self.robot_names) or "（robots 一节没有定义任何机器人）"
                self.add(self.line(m, "robots"), f"{column}.robots", f"没有这个机器人；已定义：{known}", robot)
        if not emails and not named:
            self.add(self.line(m), column, "没有接收方式：至少给出 email 或 robots 之一")
        return Recipient(name, reports, tuple(dict.fromkeys(emails)), tuple(dict.fromkeys(named)))

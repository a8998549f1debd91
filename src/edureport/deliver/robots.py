"""Group robots: DingTalk (钉钉, signed) and WeCom (企业微信) webhooks, each sent a markdown message.

DingTalk's signature ("加签", as DingTalk documents it): the string ``timestamp + "\\n" + secret``, with the
timestamp in milliseconds, is signed with HMAC-SHA256 keyed by the secret; the digest is base64-encoded,
then URL-encoded, and appended to the webhook as ``&timestamp=…&sign=…``. DingTalk refuses a signature more
than an hour old, so it is made just before each post. WeCom's webhook carries its key in the URL and
takes no signature. Both answer ``{"errcode": 0, "errmsg": "ok"}``; any other errcode, an HTTP error or no
JSON is a failed delivery. Messages never contain the webhook URL: its token is a credential.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import ssl
import time
import urllib.error
import urllib.request
from urllib.parse import quote_plus

from edureport.core.errors import DeliveryError
from edureport.deliver.distribution import Robot

MAX_REPLY_BYTES = 64 * 1024


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """The ``sign`` parameter for ``timestamp_ms`` (already URL-encoded)."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest))


def robot_url(robot: Robot, timestamp_ms: int | None = None) -> str:
    """The URL to post to: the webhook, signed for a DingTalk robot with a secret."""
    url = robot.webhook.reveal()
    if robot.type != "dingtalk" or robot.secret is None:
        return url
    ts = timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)
    return f"{url}{'&' if '?' in url else '?'}timestamp={ts}&sign={dingtalk_sign(robot.secret.reveal(), ts)}"


def payload(robot: Robot, title: str, markdown: str) -> dict:
    if robot.type == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": title, "text": markdown}}
    return {"msgtype": "markdown", "markdown": {"content": markdown}}


def post(robot: Robot, title: str, markdown: str) -> None:
    """Send one markdown message; ``DeliveryError`` (without the URL) when the robot does not take it."""
    body = json.dumps(payload(robot, title, markdown), ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(robot_url(robot), data=body, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        context = ssl.create_default_context(cafile=robot.ca_file or None)
        with urllib.request.urlopen(request, timeout=robot.timeout, context=context) as reply:
            raw = reply.read(MAX_REPLY_BYTES)
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"{robot.label}回复 HTTP {exc.code}（{exc.reason}）") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            raise DeliveryError(f"{robot.label}没有在 {robot.timeout:g} 秒内回复（连接超时）") from None
        why = getattr(reason, "strerror", None) or getattr(reason, "verify_message", None) or str(reason)
        raise DeliveryError(f"无法连接{robot.label}：{why}") from None
    except TimeoutError:
        raise DeliveryError(f"{robot.label}没有在 {robot.timeout:g} 秒内回复（连接超时）") from None
    except http.client.HTTPException as exc:
        raise DeliveryError(f"{robot.label}的回复不完整（{type(exc).__name__}）：连接中途断开") from None
    except OSError as exc:
        raise DeliveryError(f"无法连接{robot.label}：{exc.strerror or exc}") from None
    try:
        answer = json.loads(raw.decode("utf-8"))
        code, said = answer.get("errcode"), answer.get("errmsg", "")
    except (UnicodeDecodeError, ValueError, AttributeError):
        raise DeliveryError(f"{robot.label}的回复不是预期的 JSON") from None
    if code != 0:
        raise DeliveryError(f"{robot.label}拒绝了消息（errcode {code}：{str(said)[:200]}）")

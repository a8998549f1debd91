"""Email over SMTP: the message (Chinese text, reports attached) and its sending, over SSL or STARTTLS.

One connection (and one login) per run and one message per address: an address the server refuses fails
alone, and leaders do not see each other's addresses. The server's certificate is always verified — against the
system's CAs, or the ``ca_file`` the distribution file names for an intranet server with its own CA;
verification is never switched off. Without encryption (``security: none``, for a relay on the same
machine) the distribution check refuses to send a password.
"""

from __future__ import annotations

import contextlib
import email.policy
import smtplib
import socket
import ssl
from collections.abc import Iterator
from email.header import Header
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

from edureport.core.errors import DeliveryError
from edureport.deliver.distribution import EmailServer

# headers kept as composed (the RFC 2047 file name); the email package's own headers are folded as usual
_POLICY = email.policy.default.clone(refold_source="none")
MIME = {"pdf": ("application", "pdf"), "html": ("text", "html"),
        "docx": ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")}


def compose(server: EmailServer, sender_name: str, to: str, subject: str, body: str,
            attachments: list[tuple[str, str, bytes]]) -> EmailMessage:
    """The message to ``to``; ``attachments``: (file name shown, format, the file's bytes as checked).

    A Chinese file name is given twice: RFC 2231 (``filename*=``, what current mail programs read) and
    RFC 2047 (``name="=?utf-8?b?…?="`` on Content-Type, what older ones and many webmail readers show)."""
    msg = EmailMessage(policy=_POLICY)
    msg["From"] = formataddr((server.sender_name or sender_name, server.sender))
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=server.sender.rsplit("@", 1)[-1])
    msg.set_content(body, charset="utf-8")
    for name, kind, data in attachments:
        maintype, subtype = MIME[kind]
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
        if not name.isascii():  # written as is: the email package would turn it into RFC 2231 again
            part = list(msg.iter_attachments())[-1]
            words = Header(name, "utf-8").encode(linesep="\n")
            part._headers = [(k, f'{maintype}/{subtype};\n name="{words}"' if k.lower() == "content-type" else v)
                             for k, v in part._headers]
    return msg


class Mailer:
    """One SMTP connection (and login) for a whole run, opened at the first message; a connection the
    server closed in between is opened again once. Use as a context manager."""

    def __init__(self, server: EmailServer):
        self.server = server
        self.conn: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.conn.quit()
            with contextlib.suppress(Exception):
                self.conn.close()
            self.conn = None

    def _open(self) -> smtplib.SMTP:
        server = self.server
        context = ssl.create_default_context(cafile=server.ca_file or None)
        if server.security == "ssl":
            conn = smtplib.SMTP_SSL(server.host, server.port, timeout=server.timeout, context=context)
        else:
            conn = smtplib.SMTP(server.host, server.port, timeout=server.timeout)
        try:
            if server.security == "starttls":
                conn.starttls(context=context)
            if server.username and server.password is not None:
                conn.login(server.username, server.password.reveal())
        except BaseException:
            conn.close()
            raise
        return conn

    def send(self, msg: EmailMessage, to: str) -> None:
        """Deliver ``msg`` to ``to``; ``DeliveryError`` (Chinese, without the password) when it does not go.
        A refused address fails alone: the connection stays open for the next one."""
        with _translated(self.server, to):
            for attempt in (1, 2):
                fresh = self.conn is None
                if fresh:
                    self.conn = self._open()
                try:
                    self.conn.send_message(msg, from_addr=self.server.sender, to_addrs=[to])
                    return
                except smtplib.SMTPRecipientsRefused:
                    with contextlib.suppress(smtplib.SMTPException, OSError):
                        self.conn.rset()
                    raise
                except (smtplib.SMTPServerDisconnected, ConnectionError):
                    self.close()
                    if fresh or attempt == 2:  # a new connection that drops is the server's answer
                        raise
                except BaseException:
                    self.close()
                    raise


def send_mail(server: EmailServer, msg: EmailMessage, to: str) -> None:
    """Deliver one message over a connection of its own."""
    with Mailer(server) as mailer:
        mailer.send(msg, to)


@contextlib.contextmanager
def _translated(server: EmailServer, to: str) -> Iterator[None]:
    """SMTP and network errors as ``DeliveryError`` in Chinese."""
    where = f"邮件服务器 {server.host}:{server.port}"
    try:
        yield
    except smtplib.SMTPRecipientsRefused as exc:
        code, said = next(iter(exc.recipients.values()), (0, b""))
        raise DeliveryError(f"{where}拒收 {to}（{code} {_text(said)}）") from None
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(f"{where}拒绝登录（{exc.smtp_code}）：用户名或密码（password_env）不对") from None
    except smtplib.SMTPNotSupportedError:
        raise DeliveryError(f"{where}不支持 STARTTLS 或登录：请检查 email.security 和端口") from None
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(f"{where}拒绝了邮件（{exc.smtp_code} {_text(exc.smtp_error)}）") from None
    except smtplib.SMTPServerDisconnected:
        raise DeliveryError(f"{where}中途断开了连接；请稍后重试，或检查 email.security 与端口") from None
    except ssl.SSLCertVerificationError as exc:
        raise DeliveryError(f"{where}的证书校验未通过（{exc.verify_message}）；内网服务器请用 email.ca_file "
                            "指定签发它的 CA 证书") from None
    except ssl.SSLError as exc:
        raise DeliveryError(f"{where}的加密连接失败（{exc.reason or exc}）：请检查 email.security 与端口"
                            "（ssl 通常为 465，starttls 通常为 587）") from None
    except smtplib.SMTPException as exc:
        raise DeliveryError(f"{where}出错：{type(exc).__name__}（{exc}）") from None
    except TimeoutError:
        raise DeliveryError(f"{where}没有在 {server.timeout:g} 秒内回复（连接超时）") from None
    except socket.gaierror:
        raise DeliveryError(f"找不到邮件服务器 {server.host}（域名无法解析）") from None
    except ConnectionRefusedError:
        raise DeliveryError(f"无法连接{where}：连接被拒绝（服务器没有在这个端口上运行？）") from None
    except OSError as exc:
        raise DeliveryError(f"无法连接{where}：{exc.strerror or exc}") from None


def _text(said: bytes | str) -> str:
    return said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said)

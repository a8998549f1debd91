"""Click's own words in Chinese: usage lines, "Error:", missing or unknown options, --help.

Click marks its messages for gettext (``from gettext import gettext as _`` in each of its modules) but ships
no Chinese catalogue, and a process-wide ``gettext.textdomain`` would change every other library's messages
too. So ``install()`` gives Click's modules their own ``_``/``ngettext`` that look the message up here and
fall back to English for anything this table does not know (a newer Click's new message shows in English,
never as a crash). Type names ("path", "file") are left alone: they become the help's metavars (PATH),
and a translation would depend on whether an option was declared before or after ``install()``.
tests/test_packaging.py checks every command's help and the common usage errors.
"""

from __future__ import annotations

import importlib

SINGULAR = {
    "Usage:": "用法：",
    "Options": "选项",
    "Commands": "命令",
    "Positional arguments": "位置参数",
    "Error: {message}": "错误：{message}",
    "Try '{command} {option}' for help.": "运行 “{command} {option}” 查看帮助。",
    "Show this message and exit.": "显示本帮助并退出。",
    "Show the version and exit.": "显示版本并退出。",
    "%(prog)s, version %(version)s": "%(prog)s，版本 %(version)s",
    "Aborted!": "已中止。",
    "Missing command.": "缺少命令。",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing {param_type}": "缺少{param_type}",
    "Missing parameter: {param_name}": "缺少参数：{param_name}",
    "No such option {name!r}.": "没有此选项：{name}。",
    "No such command {name!r}.": "没有此命令：{name}。",
    "Invalid value: {message}": "无效的值：{message}",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值无效：{message}",
    "Option {name!r} does not take a value.": "选项 {name} 不需要值。",
    "Argument {name!r} takes {nargs} values.": "参数 {name} 需要 {nargs} 个值。",
    "Value must be an iterable.": "值必须是一组数据。",
    "default: {default}": "默认：{default}",
    "env var: {var}": "环境变量：{var}",
    "(dynamic)": "（动态）",
    "deprecated": "已弃用",
    "{value!r} is not a valid {number_type}.": "“{value}”不是有效的数字。",
    "{value} is not in the range {range}.": "{value} 不在允许的范围 {range} 内。",
    "{value!r} is not a valid boolean. Recognized values: {states}": "“{value}”不是有效的是/否值，可用：{states}",
    "{name} {filename!r} does not exist.": "{name}“{filename}”不存在。",
    "{name} {filename!r} is a file.": "{name}“{filename}”是文件，应为文件夹。",
    "{name} {filename!r} is a directory.": "{name}“{filename}”是文件夹，应为文件。",
    "{name} {filename!r} is not readable.": "{name}“{filename}”无法读取。",
    "{name} {filename!r} is not writable.": "{name}“{filename}”无法写入。",
    "{name} {filename!r} is not executable.": "{name}“{filename}”无法执行。",
    "required": "必填",
    "Could not open file {filename!r}: {message}": "无法打开文件“{filename}”：{message}",
    "unknown error": "未知错误",
    "Choose from:\n\t{choices}": "可选：\n\t{choices}",
    "Error: invalid input": "错误：输入无效",
    "Error: The two entered values do not match.": "错误：两次输入不一致。",
    "Repeat for confirmation": "再次输入以确认",
    "Do you want to continue?": "是否继续？",
    "Confirm the action without prompting.": "不询问，直接执行。",
    "Press any key to continue...": "按任意键继续……",
}
PLURAL = {
    "Got unexpected extra argument ({args})": ("多余的参数（{args}）", "多余的参数（{args}）"),
    "Option {name!r} requires an argument.": ("选项 {name} 需要一个值。", "选项 {name} 需要 {nargs} 个值。"),
    "Did you mean {possibility}?": ("您是不是要用 {possibility}？", "（您是不是要用以下之一：{possibilities}？）"),
    "{value!r} is not {choice}.": ("“{value}”不是 {choice}。", "“{value}”不是以下之一：{choices}。"),
    "{value!r} does not match the format {format}.": ("“{value}”不符合格式 {format}。",
                                                      "“{value}”不符合以下任一格式：{formats}。"),
    "Takes {nargs} values but 1 was given.": ("需要 {nargs} 个值，但只给了 1 个。", "需要 {nargs} 个值，但给了 {len} 个。"),
    "{len_type} values are required, but {len_value} was given.": ("需要 {len_type} 个值，但给了 {len_value} 个。",
                                                                     "需要 {len_type} 个值，但给了 {len_value} 个。"),
}
CLICK_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "types", "termui", "utils")


def gettext(message: str) -> str:
    return SINGULAR.get(message, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    if singular in PLURAL:
        one, many = PLURAL[singular]
        return one if n == 1 else many
    return singular if n == 1 else plural


def install() -> None:
    """Give Click's modules the Chinese lookups (idempotent)."""
    for name in CLICK_MODULES:
        module = importlib.import_module(f"click.{name}")
        if hasattr(module, "_"):
            module._ = gettext
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext

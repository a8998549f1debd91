"""``edureport init``: a self-contained bureau folder (工作文件夹), one per education bureau.

::

    <folder>/
      edureport.toml   the marker: commands run inside take every default path from here (core/paths.py)
      README.md        what goes where and the commands, in Chinese
      params/          plan-<year>.yaml, commentary-<year>.yaml (an empty template), demo-reference.yaml
      data/            data folders (the demo data: data/demo)
      outputs/         reports and logs
      notebooks/       the report notebooks, for Jupyter (a build runs the package's own copies)

The notebooks ask for the Jupyter kernel "edureport"; ``edureport init`` also registers it for the Python
running it when no kernel of that name exists (``register_kernel``), else JupyterLab would ask which
kernel to use.

Nothing is ever overwritten. In an existing bureau folder only what is missing is added (next year's plan
and its commentary template, say); a plan or register that would replace a different file of the same
name is refused before anything is written. A folder that holds anything but a bureau is refused too.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from edureport.core.errors import BureauError
from edureport.core.paths import (
    MARKER,
    PACKAGE_NOTEBOOKS,
    SAMPLE_PARAMS,
    output_error,
    utf8_problem,
    why,
)
from edureport.core.version import __version__
from edureport.plan.load import load_plan
from edureport.plan.model import Plan

SAMPLE_PLAN = sorted(SAMPLE_PARAMS.glob("plan-*.yaml"))[-1]  # the sample shipped with the package
SAMPLE_REFERENCE = SAMPLE_PARAMS / "demo-reference.yaml"
FOLDERS = ("params", "data", "outputs", "notebooks")
KERNEL = "edureport"  # the kernel the notebooks ask for (their metadata.kernelspec), the one `make` registers
KERNEL_DISPLAY = "Python (edureport)"
KERNEL_PREFIX = sys.prefix  # beside this Python (--sys-prefix), like `make`; tests point it elsewhere


@dataclass(frozen=True)
class Placed:
    """One file or folder of the bureau folder: ``new`` if init made it, else it was there and was kept."""

    path: Path
    new: bool


def init_bureau(folder: str | Path, *, plan_file: str | Path | None = None,
                reference: str | Path | None = None) -> list[Placed]:
    """Make ``folder`` a bureau folder (or complete one); returns what is there, made or kept.

    ``plan_file`` is checked (``PlanError`` lists its problems) and copied to ``params/plan-<year>.yaml``;
    without it, the package's sample plan and its demo register. ``reference`` (the register of townships
    and schools the demo data start from) is copied to ``params/demo-reference.yaml``. Raises
    ``BureauError`` for a folder that is a file or holds other things, and for a plan or register that
    would replace a different file; ``OutputError`` when the folder cannot be written."""
    folder = Path(folder)
    odd = utf8_problem(folder, "工作文件夹")
    if odd:
        raise BureauError(odd)
    _check_folder(folder)
    plan_source = Path(plan_file) if plan_file else SAMPLE_PLAN
    plan = load_plan(plan_source)
    ref_source = Path(reference) if reference else (None if plan_file else SAMPLE_REFERENCE)
    params = folder / "params"
    given = {params / f"plan-{plan.year}.yaml": _read(plan_source, "工作要点文件")}
    if ref_source is not None:
        given[params / "demo-reference.yaml"] = _read(ref_source, "演示数据名录文件")
    conflicts = [f"{path} 已存在且内容不同" for path, data in given.items() if path.exists() and _differs(path, data)]
    if conflicts:
        raise BureauError("；".join(conflicts) + "。edureport init 不覆盖已有文件：请先改名或删除它，或直接编辑它")
    files = {
        folder / MARKER: marker_text().encode(),
        **given,
        params / f"commentary-{plan.year}.yaml": commentary_template(plan).encode(),
        **{folder / "notebooks" / nb.name: nb.read_bytes() for nb in sorted(PACKAGE_NOTEBOOKS.glob("*.ipynb"))},
        folder / "README.md": readme_text(plan, has_reference=ref_source is not None
                                          or (params / "demo-reference.yaml").exists()).encode(),
    }
    placed = []
    try:
        for name in FOLDERS:
            path = folder / name
            placed.append(Placed(path, not path.is_dir()))
            path.mkdir(parents=True, exist_ok=True)
        for path, data in files.items():
            placed.append(Placed(path, _create(path, data)))
    except OSError as exc:
        raise output_error(Path(exc.filename or folder), exc) from None
    return placed


def register_kernel() -> str:
    """Register the kernel ``KERNEL`` for this Python unless a kernel of that name exists; "" when it is
    there, else one Chinese line saying how to register it by hand (init goes on either way).

    Runs ``python -m ipykernel install``, the command of ``make``: ipykernel's Python API
    (``ipykernel.kernelspec.install``) would do the same, but only the heavy libraries named in
    tests/test_architecture.py may be imported inside a function, and ipykernel is not worth importing
    for every command."""
    from jupyter_client.kernelspec import KernelSpecManager

    try:
        KernelSpecManager().get_kernel_spec(KERNEL)
        return ""
    except Exception:  # NoSuchKernel, or an unreadable kernel.json (registering again replaces it)
        pass
    try:
        done = subprocess.run([sys.executable, "-m", "ipykernel", "install", "--prefix", KERNEL_PREFIX,
                               "--name", KERNEL, "--display-name", KERNEL_DISPLAY],
                              capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        reason = str(exc)
    else:
        if done.returncode == 0:
            return ""
        reason = (done.stderr.strip().splitlines() or [f"退出码 {done.returncode}"])[-1]
    by_hand = shlex.join([sys.executable or "python3", "-m", "ipykernel", "install", "--sys-prefix",
                          "--name", KERNEL, "--display-name", KERNEL_DISPLAY])
    return (f"提示：未能注册 Jupyter 内核“{KERNEL_DISPLAY}”（{reason}）；在 JupyterLab 中打开 notebooks/ 之前"
            f"请手动运行：{by_hand}（无权写入时把 --sys-prefix 换成 --user）")


def _check_folder(folder: Path) -> None:
    if folder.is_symlink() and not folder.exists():
        raise BureauError(f"“{folder}”是一个指向不存在位置的链接，不能作为工作文件夹")
    if folder.exists() and not folder.is_dir():
        raise BureauError(f"“{folder}”是一个文件，不是文件夹：请换一个新的或空的文件夹名")
    if folder.is_dir() and not (folder / MARKER).is_file():
        try:
            entries = next(folder.iterdir(), None)
        except OSError as exc:
            raise BureauError(f"无法读取文件夹“{folder}”：{why(exc)}") from None
        if entries is not None:
            raise BureauError(f"文件夹“{folder}”不是空的，也不是 edureport 工作文件夹（其中没有 {MARKER}）："
                              "为免覆盖其中的文件，请换一个新的或空的文件夹")


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise BureauError(f"无法读取{what}“{path}”：{why(exc)}") from None


def _differs(path: Path, data: bytes) -> bool:
    try:
        return not path.is_file() or path.read_bytes() != data
    except OSError:
        return True


def _create(path: Path, data: bytes) -> bool:
    """Write a new file; never replace one (also not one made a moment ago by someone else)."""
    if path.exists() or path.is_symlink():
        return False
    try:
        with path.open("xb") as fh:
            fh.write(data)
    except FileExistsError:
        return False
    return True


def marker_text() -> str:
    return (f"# edureport 工作文件夹的标记文件（由 edureport {__version__} 的 edureport init 创建），请勿删除。\n"
            "# edureport 从当前文件夹逐级向上查找本文件（或读环境变量 EDUREPORT_HOME），找到的文件夹就是工作文件夹：\n"
            "# 不带选项时，工作要点取自其中的 params/（最新的 plan-*.yaml），数据取自 data/demo/，报告写到 outputs/。\n"
            "[bureau]\nformat = 1\n")


def commentary_template(plan: Plan) -> str:
    """An empty commentary file for the plan's year, saying what to write and where it goes."""
    return (f"# {plan.title}：补充说明（并入各部分进展报告和年度工作总结）。\n"
            "# tasks：按任务序号填写对该任务的补充说明，每行“任务序号: 说明”，例如\n"
            "#   tasks:\n"
            "#     2: 已召开现场会，创建工作持续推进。\n"
            "# 没有填写的任务，报告注明“暂无补充说明”，不会代为拟写。\n"
            "# next_steps：下一步工作打算，每条一项、以“- ”开头，例如\n"
            "#   next_steps:\n"
            "#     - 对照年度目标逐项梳理未达标指标，明确责任和完成时限。\n"
            "# 不填写时，年度工作总结注明“尚未填写”。\n"
            "tasks: {}\n"
            "next_steps: []\n")


def readme_text(plan: Plan, *, has_reference: bool) -> str:
    """The bureau folder's README.md: what to put where, and the commands."""
    year, town = plan.year, plan.township_label
    reference = ("生成演示数据用的名录（" + town + "与学校），只在 `edureport demo-data` 时使用" if has_reference else
                 "（尚无）生成演示数据用的名录（" + town + "与学校）：`edureport init` 时用 `--reference` 给出，"
                 "或自行放入；只在 `edureport demo-data` 时使用")
    return f"""# {plan.issuer}：edureport 工作文件夹

本文件夹由 `edureport init` 创建，用于生成《{plan.title}》的进展报告。在本文件夹（或其任何子文件夹）中运行
`edureport` 命令时，不带选项即使用这里的工作要点、数据和输出文件夹；在别处运行时，可设置环境变量
`EDUREPORT_HOME` 指向本文件夹，或用 `--plan`、`--data`、`--out` 等选项给出路径。

## 什么放在哪里

| 位置 | 内容 |
|---|---|
| `params/plan-{year}.yaml` | 工作要点。下一年度的工作要点另存为 `params/plan-<年度>.yaml`：不带 `--plan` 时用文件名排序最后的一个 |
| `params/commentary-{year}.yaml` | 对各任务的补充说明和“下一步工作打算”，并入各部分进展报告和年度工作总结；没有填写的地方报告如实注明。工作要点文件旁的 `commentary-<年度>.yaml` 优先；`edureport build --commentary 文件` 可另行指定 |
| `params/demo-reference.yaml` | {reference} |
| `data/demo/` | 默认的数据文件夹（`edureport demo-data` 生成的演示数据）。实际报送的数据放在 `data/` 下另一个文件夹，命令中用 `--data data/<文件夹>` 指定 |
| `outputs/` | 生成的报告：`outputs/<年度>/<截至日期>/` 下的 `index.html`、`html/`、`pdf/`、`notebooks/`；运行日志在 `outputs/logs/` |
| `notebooks/` | 四个报告笔记本（各部分、各{town}、各{plan.department_label}、年度工作总结）：在 JupyterLab 中打开（`jupyter lab notebooks`；没有 JupyterLab 时先在同一 Python 环境中 `pip install 'jupyterlab>=4'`），“全部运行”即显示报告。笔记本使用内核“{KERNEL_DISPLAY}”，`edureport init` 已为安装 edureport 的 Python 注册（未能注册时 init 会给出手动注册的命令）；参数留空即用本文件夹的工作要点和 `data/demo`。`edureport build` 使用软件自带的同名笔记本，修改这里的副本不影响批量生成的报告 |
| `edureport.toml` | 工作文件夹的标记，请勿删除 |

## 常用命令

```bash
edureport plan                                   # 检查工作要点，显示部分、任务、指标
edureport demo-data                              # 生成演示数据到 data/demo（需要 params/demo-reference.yaml）
edureport validate data/demo                     # 校验数据文件夹：列出全部问题
edureport status --as-of {year}-06-30              # 各指标的目标、实际、进度与状态
edureport template 填报表.xlsx --township <{town}名称> --period {year}-06   # 生成 Excel 报送表
edureport import 填报表.xlsx --data data/demo --dry-run                     # 校验并合并报送表（先试运行）
edureport build                                  # 生成全部报告（HTML 与 PDF）到 outputs/
edureport build --only review --formats html     # 只生成年度工作总结
edureport build --data data/<文件夹> --commentary params/commentary-{year}.yaml
```

每个命令都有 `--help`。退出码：0 成功；1 有报告生成失败；2 输入或用法有误；3 另一个构建或导入正在使用同一文件夹。
"""

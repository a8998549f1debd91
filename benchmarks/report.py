"""Turn docs/benchmarks.json (written by run.py) into docs/benchmarks.md and docs/benchmarks.png."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(path: Path = ROOT / "docs" / "benchmarks.json") -> None:
    r = json.loads(path.read_text(encoding="utf-8"))
    sys.path.insert(0, str(ROOT / "src"))
    from edureport.fonts import setup_matplotlib

    setup_matplotlib()
    import matplotlib.pyplot as plt

    scale = r["scale"]
    cores = r["machine"]["cores"]
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=120)
    xs = [s["reports_total"] for s in scale]
    est = [s["per_report_s"] * s["reports_total"] for s in scale]
    ax.plot(xs, est, marker="o", label="按样本单份耗时推算的全量构建（秒）")
    ax.plot([13], [r["edureport"]["wall"]], marker="s", linestyle="", label="实测：演示数据全量构建")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("报告数")
    ax.set_ylabel("秒")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(ROOT / "docs" / "benchmarks.png", metadata={"Software": None})
    b, e, n = r["baseline"], r["edureport"], r["no_change"]
    lines = [
        "# 基准测试", "",
        f"机器：{cores} 核，{r['machine']['memory_gb']} GB 内存，Python {r['machine']['python']}，{r['machine']['platform']}。",
        "命令：`.venv/bin/python benchmarks/run.py`（结果写入 `docs/benchmarks.json`），然后 `.venv/bin/python benchmarks/report.py`。",
        "每项为 3 次运行的中位数；CPU 为全部子进程的用户+系统时间；内存为整个进程树 RSS 之和的峰值（每 50 ms 采样）。", "",
        "## 1. 全量构建（演示数据，13 份报告，HTML + PDF）", "",
        "| 方式 | 墙钟（秒） | CPU（秒） | 峰值内存（MB） |", "|---|---|---|---|",
        f"| 基线：papermill CLI → `jupyter nbconvert --to html --no-input` → `weasyprint`，逐份执行 | {b['wall']:.1f} | {b['cpu']:.1f} | {b['rss_mb']:.0f} |",
        f"| `edureport build --force`（{cores} 个工作进程） | {e['wall']:.1f} | {e['cpu']:.1f} | {e['rss_mb']:.0f} |",
        "", f"墙钟之比（基线 / edureport）：**{r['speedup']:.2f}×**。"
        "注意两者产出不同：基线的 HTML 用 nbconvert 默认模板（引用 CDN 上的 require.js/MathJax，不嵌入字体），"
        "其 PDF 只能用系统已有的字体；edureport 的 HTML 内嵌字体子集，PDF 有封面、页码和目录。目标为 2.5×，尚未达到。", "",
        "## 2. 无变化时重新构建", "",
        f"`edureport build`（紧接全量构建之后）：{n['wall']:.1f} 秒，为全量构建的 {r['no_change_fraction'] * 100:.1f}%。", "",
        "## 3. 下限", "",
        f"- 启动一个内核并导入 pandas、matplotlib：{r['floor']['kernel_and_imports']:.1f} 秒（每份报告都要付出）。",
        f"- 只运行报告函数（第一部分，不启动内核、不渲染）：{r['floor']['section_analysis_no_kernel']:.1f} 秒。", "",
        "## 4. 规模", "",
        "| 苏木镇 | 指标数据行 | 报告总数 | 校验（秒） | 校验峰值内存（MB） | 读取单个苏木镇子集（秒） | 样本报告数 | 样本构建（秒） | 单份（秒） | 构建峰值内存（MB） |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in scale:
        lines.append(f"| {s['townships']} | {s['observations']:,} | {s['reports_total']} | {s['validate_s']:.1f} | "
                     f"{s['validate_rss_mb']:.0f} | {s['subset_load_s']:.2f} | {s['sample']} | {s['sample_build_s']:.1f} | "
                     f"{s['per_report_s']:.1f} | {s['build_rss_mb']:.0f} |")
    lines += ["", "![构建时间与报告数](benchmarks.png)", "",
              "样本为第一、四部分报告、年度工作总结和图克镇报告；“单份”为样本构建墙钟 ÷ 样本数（2 个工作进程并行）。"
              "图中全量时间按单份耗时 × 报告数推算。", "",
              "## 未测与已知问题", "",
              "- 600 个苏木镇：构建进程在运行任何笔记本之前花了约 10 分钟计算苏木镇报告的输入键（每个苏木镇一次 `compute()`），"
              "每份报告在内核中又重复一次全部苏木镇的计算；因此停止了这次测量。单份耗时从 6 个苏木镇的约 7 秒增至 60 个的约 17 秒，"
              "没有保持平稳——原因同上。",
              "- 10⁶、10⁷ 行的读取与校验尚未测量（60 个苏木镇约 9 万行：校验 1.7 秒，读取单个苏木镇子集 0.04 秒）。",
              "- 峰值内存约 1.1 GB（2 个工作进程 + 2 个内核 + 渲染），基线约 0.34 GB。", ""]
    (ROOT / "docs" / "benchmarks.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

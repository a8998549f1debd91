"""Every built-in report kind, registered: importing this module imports ``section``, ``township``,
``department``, ``school`` and ``review``, whose last lines register their kinds (see ``report/kinds.py``).

Whatever needs the full registry (the batch layer: jobs, titles, build keys) imports it from here, so the
kinds are registered before it is read. A notebook needs only its own kind, which its ``from
edureport.report import <kind> as report`` registers before ``ReportContext.load``. A new built-in kind
adds its module to the import below; a plug-in (or a test) calls ``register`` itself.
"""

from __future__ import annotations

from edureport.report import department, review, school, section, township  # noqa: F401  (they register on import)
from edureport.report.kinds import REPORTS, Job, ReportKind, get_report_kind, register, report_kinds

__all__ = ["REPORTS", "Job", "ReportKind", "get_report_kind", "register", "report_kinds"]

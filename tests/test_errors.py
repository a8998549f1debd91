"""Every error edureport raises is defined in errors.py and survives pickling (errors cross process and
Dask boundaries: a report that fails in a worker must arrive in the parent as the same error)."""

from __future__ import annotations

import importlib
import inspect
import pickle
import pkgutil
from types import SimpleNamespace

import pytest

import edureport
from edureport.core import errors
from edureport.core.errors import EdureportError, Problem


def _all_subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_all_subclasses(sub)]
    return out


def _modules() -> list[str]:
    return [m.name for m in pkgutil.walk_packages(edureport.__path__, "edureport.") if m.name != "edureport.__main__"]


PROBLEMS = [Problem(file="observations.csv", message="不是有效的数字", row=3, column="数值", value="abc")]
# Errors whose constructor takes more than a message, with sample arguments.
ARGS = {
    "ProblemsError": (PROBLEMS,), "PlanError": (PROBLEMS,), "DataValidationError": (PROBLEMS,),
    "CommentaryError": (PROBLEMS,), "DistributionError": (PROBLEMS,), "RemovalError": (PROBLEMS, "加 --allow-removals"),
    "UnknownKindError": ("指标类型", "percent", ["ratio", "count"]),
    "ReportFailedError": (SimpleNamespace(title="图克镇2023年工作进展报告"), "ZeroDivisionError: x", "a.ipynb"),
}


def test_every_error_class_is_defined_in_errors_py() -> None:
    for name in _modules():
        module = importlib.import_module(name)
        for obj_name, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, EdureportError) and obj.__module__ == name:
                assert name == "edureport.core.errors", f"{obj_name} is defined in {name}"


@pytest.mark.parametrize("cls", [EdureportError, *_all_subclasses(EdureportError)], ids=lambda c: c.__name__)
def test_every_error_survives_pickling(cls: type) -> None:
    for name in _modules():  # every error class is loaded (and is one of errors.py's)
        importlib.import_module(name)
    unknown = issubclass(cls, errors.UnknownKindError)
    error = cls(*ARGS.get(cls.__name__, ARGS["UnknownKindError"] if unknown else ("第3行的数值无效",)))
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is cls and str(back) == str(error)
    assert {k: v for k, v in vars(back).items() if k != "job"} == {k: v for k, v in vars(error).items() if k != "job"}
    assert getattr(errors, cls.__name__) is cls

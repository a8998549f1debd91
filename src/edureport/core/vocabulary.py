"""The plan format's fixed words: levels, comparisons, aggregates, school stages, project stages.

Kept below every layer because the plan checks them, indicator kinds word them and the data layer
validates input against them.
"""

LEVELS = {"school": "学校", "township": "苏木镇", "banner": "全旗"}
COMPARISONS = {">=": "≥", ">": "＞", "<=": "≤", "<": "＜", "==": "＝", "<baseline": "低于上年", ">baseline": "高于上年"}
OVER_TIME = {"cumulative", "latest"}
STAGES = ("幼儿园", "小学", "初中", "九年一贯制", "高中", "中职")
PROJECT_STAGES = ("未开工", "在建", "竣工", "投用")
PROJECT_GOALS = {"开工": "在建", "竣工": "竣工", "投用": "投用"}

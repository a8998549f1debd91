"""Which places an indicator applies to: one rule shared by validation, metrics and demo data.

A school-level indicator applies to the registry's schools of its stages (or the schools it names);
a township-level one to every township (or the ones it names); a banner-level one to the banner ("").
"""

from __future__ import annotations

import pandas as pd

from edureport.plan.model import Indicator


def applicable(ind: Indicator, schools: pd.DataFrame, townships: pd.DataFrame) -> pd.DataFrame:
    """Frame of entity keys with their township (and school name/stage for schools)."""
    if ind.level == "school":
        s = schools
        if ind.stages:
            s = s[s["stage"].isin(ind.stages)]
        if ind.entities:
            s = s[s["name"].isin(ind.entities)]
        return pd.DataFrame({"entity": s["school_id"].astype(str).to_numpy(),
                             "township": s["township"].astype(str).to_numpy(),
                             "name": s["name"].astype(str).to_numpy()})
    if ind.level == "township":
        t = townships["township"].astype(str)
        if ind.entities:
            t = t[t.isin(ind.entities)]
        return pd.DataFrame({"entity": t.to_numpy(), "township": t.to_numpy(), "name": t.to_numpy()})
    return pd.DataFrame({"entity": [""], "township": [""], "name": [""]})  # the region as a whole

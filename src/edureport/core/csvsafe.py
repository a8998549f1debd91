"""Text cells that edureport writes into CSV files staff open in Excel or WPS (CSV injection).

A cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is taken by Excel as a
formula (``=HYPERLINK(…)``, ``=cmd|' /C calc'!A0``). Following the OWASP guidance, every text cell that
``import`` writes into a data table or ``import-log.csv`` gets a leading apostrophe in that case; reading
takes it off again (``restore``), so reports show what the unit typed and a re-import of the same file
is still "unchanged". Numbers edureport writes never start with these characters (negative figures are
refused by validation).
"""

from __future__ import annotations

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    return "'" + text if text.startswith(TRIGGERS) else text


def restore(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:].startswith(TRIGGERS) else text

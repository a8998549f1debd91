"""Indicator results: which rows each place owns (scopes), computing statuses, results shared between reports."""

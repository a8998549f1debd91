"""Beside data: the Excel fill-in forms each 苏木镇 receives, reading them back, and the import transaction."""

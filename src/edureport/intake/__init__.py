"""Beside data: the Excel fill-in forms each township (the plan's 苏木镇, 镇街 …) receives, reading them back, and the import transaction."""

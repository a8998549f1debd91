"""Foundation every layer may use: errors, number formatting, the status calendar, paths, limits, fonts, verified cache files, the registry class."""

"""The build's memory under ``OUT/.egpt-dsec``: finished clips, plans, options, lock."""

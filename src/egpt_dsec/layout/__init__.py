"""Every path, in one package: the DSEC input (``dsec``), the dataset written (``output``)
and the build's own state folder (``state``). No other module joins path strings.
"""

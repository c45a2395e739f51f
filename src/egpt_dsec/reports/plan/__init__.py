"""``egpt-dsec plan``: what a build will make and cost, before it starts.

Per split and duration the clips, files and bytes of each kind, the total, the free
space at ``--out``, and a time estimate for this machine. It reads only metadata
(timestamps, each events file's millisecond index, one frame header) plus a short probe
of this machine on a sample of the input, so it answers in seconds on the full DSEC.
"""

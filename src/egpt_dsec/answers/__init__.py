"""The answers of a built dataset: the log of every answered request, which answer each
clip keeps, and how the kept answers enter the JSON files.

``annotate`` fills the log by asking a model; the JSON writer (``pipeline.json_files``)
reads it, so every build and every annotate run writes the same files from the same log.
"""

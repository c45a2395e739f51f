"""Reports read the manifest, never the outputs themselves (except ``verify``)."""

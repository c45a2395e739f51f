"""Writers: one module per output kind, each writing atomically (temp name, then rename)."""

// Module ModelSpec: see ../shared/ARCHITECTURE.md.

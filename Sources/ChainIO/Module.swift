// Module ChainIO: see ../shared/ARCHITECTURE.md.

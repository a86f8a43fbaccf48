// Module PenalizedLS: see ../shared/ARCHITECTURE.md.

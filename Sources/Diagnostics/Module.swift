// Module Diagnostics: see ../shared/ARCHITECTURE.md.

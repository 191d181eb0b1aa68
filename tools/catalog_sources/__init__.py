"""How the catalog is transcribed from ../shared/reference, one module per section (tools/build_catalog.py runs them)."""

"""Tools that measure the harness (what its draws reach); run as ``python -m``, never imported
by the harness itself."""

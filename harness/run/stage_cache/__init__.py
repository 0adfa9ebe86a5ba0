"""The stage cache (docs/cache.md), one job a module:

- ``cache``: ``StageCache``, what ``Harness(cache=...)`` reads sources and converts through;
- ``keys``: what decides an output, as a key (package fingerprints, artifacts' identities);
- ``packages``: a package's fingerprint, from the code this process imports for it;
- ``verify``: checking a sample of hits against cold results (``--parity-cache-verify``);
- ``readings``: a source's reading as JSON and one blob of arrays;
- ``arrays``: named arrays as one blob (raw bytes under a JSON index);
- ``store``: the folder (atomic writes, checked blobs, info, clear);
- ``cli``: ``parity cache info|clear``.

This package's own import is light (``parity cache`` needs no framework): import
``harness.run.stage_cache.cache`` for the cache itself.
"""

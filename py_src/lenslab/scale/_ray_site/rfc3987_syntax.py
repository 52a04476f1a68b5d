"""Put first on the path of the local Ray cluster's processes only (see ``lenslab.scale._ray.connect``).

Every Ray process imports jsonschema, and jsonschema imports ``rfc3987_syntax`` when installed (the
``format`` extra that Jupyter brings) to check "iri" strings; that import builds a parser grammar and
costs about 1.4 CPU-seconds per process. On a busy machine it alone made Ray's dashboard agent miss
the raylet's fixed 15 s start-up window. Ray never checks the "iri" format, and jsonschema skips the
checker when this import fails.
"""

raise ImportError("rfc3987_syntax is not loaded in LensLab's Ray processes")

"""calypso benchmarks: ``python -m benchmarks`` runs them all and prints a table (see benchmarks/README.md).

Not part of the package and not part of the test suite; ``tests/benchmarks/test_smoke.py`` runs each one for a
tiny iteration so that they keep working.
"""

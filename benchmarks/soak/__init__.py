"""Soak test of the client against the fake server with injected faults; see :mod:`benchmarks.soak.soak`."""

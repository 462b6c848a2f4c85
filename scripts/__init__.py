"""Developer scripts (not shipped): ``python -m scripts.codegen`` regenerates the generated code."""

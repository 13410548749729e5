"""Indexing: load, clean and parse resolutions; chunk, embed and store them."""

import os as _os

# OpenMP threads that spin while waiting make torch and llama.cpp 3-10x slower on a small
# shared CPU (measured: EmbeddingGemma query 150 ms vs 400-900 ms). Set before either loads.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

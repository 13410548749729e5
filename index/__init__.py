"""Indexing: load, clean and parse resolutions; chunk, embed and store them."""

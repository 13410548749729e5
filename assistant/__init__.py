"""Trợ lý Nghị quyết: answering Vietnamese questions over provincial resolutions."""

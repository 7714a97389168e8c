"""The storage model: pure Python, no Qt and no napari.

Everything here can be called from a script, the CLI or a test without a display.
"""

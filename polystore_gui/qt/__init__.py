"""Qt widgets and item models: a thin layer that renders model objects."""

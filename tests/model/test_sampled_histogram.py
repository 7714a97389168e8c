"""A display histogram from a bounded, strided sample (model.sampled_histogram)."""

from __future__ import annotations

import numpy as np


def test_sampling_is_bounded_and_keeps_the_distribution():
    from polystore_gui.model.sampled_histogram import SAMPLE_VALUES, display_histogram, strided_sample

    plane = np.arange(4096 * 4096, dtype=np.uint32).reshape(4096, 4096) % 1000
    sample = strided_sample(plane)
    assert sample.size <= SAMPLE_VALUES and np.shares_memory(sample, plane)  # a view, not a copy
    edges, counts = display_histogram(sample, 10, 0, 1000, integer=True)
    assert len(edges) == 11 and counts.sum() == sample.size
    assert counts.min() > 0.5 * counts.max()  # a uniform plane stays about uniform
    rgb = np.zeros((3000, 3000, 3), np.uint8)
    assert strided_sample(rgb, keep_last=True).shape[-1] == 3
    floats = np.array([np.nan, 1.0, np.inf, 3.0])
    edges, counts = display_histogram(floats, 2, None, None, integer=False)
    assert counts.sum() == 2 and edges[0] == 1.0 and edges[-1] == 3.0

"""Synthetic 32x32 "digits" a network learns in a few steps: class y is a bright bar at rows 3y-3y+1."""

import numpy as np


def stripe_digits(n, seed=0, classes=10, channels=1):
    """``(images, labels)``: n float32 images (N, channels, 32, 32) of faint noise plus a bar.

    Class ``y``'s bar is at rows ``3 (y mod 10)`` and the next; with more than 10 classes,
    classes 10 apart share a bar (an unlearnable part, for tests that need one).
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n).astype(np.int32)
    images = rng.normal(0, 0.1, (n, channels, 32, 32)).astype(np.float32)
    for i, y in enumerate(labels):
        images[i, :, 3 * (y % 10): 3 * (y % 10) + 2, 4:28] += 2.0
    return images, labels

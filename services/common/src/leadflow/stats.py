"""Small statistics (pure): the Wilson score interval of a proportion (feedback's rates,
lead-scoring's simulations)."""

from __future__ import annotations

import math

Z_95 = 1.959963984540054  # the two-sided 95 % normal quantile


def wilson_interval(won: int, n: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval of the proportion won / n; None when n is 0."""
    if n <= 0:
        return None
    if not 0 <= won <= n:
        raise ValueError("won must be between 0 and n")
    p = won / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    margin = z / denominator * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, centre - margin), min(1.0, centre + margin)

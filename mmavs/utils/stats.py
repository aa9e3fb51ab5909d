"""Summary statistics of repeated runs (seeds), shared by the analysis tools' tables."""
import math
from typing import Optional, Sequence, Tuple


def mean_std(values: Sequence[Optional[float]]) -> Tuple[float, float]:
    """Mean and sample standard deviation (``n - 1``; 0 for one value) of the finite ``values``.

    None, nan and inf are left out; with no finite value both are nan.

    Examples:
        >>> mean_std([1., 2., 3.])
        (2.0, 1.0)
        >>> mean_std([5.])
        (5.0, 0.0)
    """
    finite = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return math.nan, math.nan
    mean = sum(finite) / len(finite)
    if len(finite) < 2:
        return mean, 0.
    return mean, math.sqrt(sum((v - mean) ** 2 for v in finite) / (len(finite) - 1))

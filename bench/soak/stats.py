"""The soak's percentiles, one definition for every table of its report."""


def percentile(values, share):
    """The nearest-rank percentile (``share`` 0.5 for the median), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def ms(seconds):
    """Seconds as milliseconds to a tenth, None kept."""
    return None if seconds is None else round(seconds * 1000, 1)

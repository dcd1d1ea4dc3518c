"""What the benchmarks (and the tests that run real servers) share."""

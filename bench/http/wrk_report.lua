-- wrk's summary as one JSON line, for bench/http/load.py.
--
-- wrk's text report rounds (e.g. "1.23k" requests/s, "12.34ms") and has no
-- p95, which the search target needs; done() gets the exact counts and the
-- whole latency histogram (microseconds), so the script reads this line
-- instead of scraping the text.

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
      .. '"latency_us": {"p50": %d, "p90": %d, "p95": %d, "p99": %d, '
      .. '"max": %d, "mean": %.1f, "stdev": %.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean, latency.stdev
  ))
end

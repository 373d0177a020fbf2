"""Reads `wrk --latency` output on stdin, prints "requests_per_second p50_ms p99_ms".
An optional argument names the run in the warning about errors (which proxy, which load)."""
import re
import sys

text = sys.stdin.read()


def ms(label):
    m = re.search(r"^\s*%s\s+([\d.]+)(us|ms|s)\s*$" % re.escape(label), text, re.M)
    if not m:
        return float("nan")
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
errors = re.search(r"Socket errors: .*|Non-2xx or 3xx responses: \d+", text)
if errors:
    where = " (%s)" % sys.argv[1] if len(sys.argv) > 1 else ""
    sys.stderr.write("wrk reported errors%s: %s\n" % (where, errors.group(0)))
print("%.0f %.2f %.2f" % (float(rps.group(1)) if rps else 0.0, ms("50%"), ms("99%")))

#!/usr/bin/env python3
"""Masks what changes from run to run in psql output (ids, clocks, durations, pids), so
that an expected-output file shows only the shape and the values users script against.
Reads stdin, writes stdout."""
import re
import sys

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}(:\d{2})?|Z)?")
# a JSON number (or quoted number) after a key that names a duration, a rate, a clock
# reading or a process: its value differs on every run, its presence does not
TIMED_KEY = re.compile(
    r'("(?:[a-z_]*_ms|[a-z_]*duration[a-z_]*|[a-z_]*seconds|[a-z_]*per_second|at|[a-z_]*_at|'
    r'[a-z_]*_epoch|started|finished|[a-z_]*pid|backend_start|elapsed[a-z_]*)":\s*)'
    r'(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?|"[^"]*")'
)
# markdown tables and prose: "12.3 ms", "at 897258 rows/s", "estimated 0.4 s"
MS_TEXT = re.compile(r"\b\d+(\.\d+)? ms\b")
RATE_TEXT = re.compile(r"\b\d+(\.\d+)? rows/s\b")
SECONDS_TEXT = re.compile(r"\bestimated \d+(\.\d+)? s\b")


def mask(line: str) -> str:
    line = UUID.sub("<uuid>", line)
    line = TIMESTAMP.sub("<time>", line)
    line = TIMED_KEY.sub(lambda m: m.group(1) + '"<masked>"', line)
    line = RATE_TEXT.sub("<n> rows/s", line)
    line = SECONDS_TEXT.sub("estimated <n> s", line)
    return MS_TEXT.sub("<n> ms", line)


for text in sys.stdin:
    sys.stdout.write(mask(text))

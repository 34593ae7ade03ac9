"""Parses Prometheus text exposition with the official `prometheus_client` parser, for the Rust
tests: the text on stdin, one JSON object on stdout mapping each sample's name and sorted labels
to its value, e.g. {"skipline_orders_total{outcome=\"succeeded\"}": 3.0}. A parse error exits 1.
"""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

samples = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
        samples[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
print(json.dumps(samples))

#!/usr/bin/env python3
"""deploy/components/monitoring: the PrometheusRule holds exactly rules.yaml's groups (the file
promtool checks and tests), the dashboard is valid JSON whose queries use only metrics the services
export, and the ServiceMonitor's port exists on both Services."""
import argparse
import json
import os
import re
import sys
import unittest

import yaml

REPO = None
# Every metric family the services export (content-service/src/content_metrics.cc,
# analytics-service/src/analytics_metrics.cc, common/src/grpc_server_metrics.cc).
EXPORTED = {
    "grpc_server_handled_total", "grpc_server_handling_seconds", "newsroom_build_info",
    "process_start_time_seconds", "newsroom_content_reads_queued_total",
    "newsroom_content_reads_delivered_total", "newsroom_content_reads_dropped_total",
    "newsroom_content_outbox_reads", "newsroom_content_outbox_oldest_read_age_seconds",
    "newsroom_content_article_cache_hits_total", "newsroom_content_article_cache_misses_total",
    "newsroom_content_article_cache_bytes", "newsroom_content_article_cache_suspended",
    "newsroom_content_listing_cache_hits_total", "newsroom_content_listing_cache_misses_total",
    "newsroom_content_listing_cache_bytes", "newsroom_content_listing_cache_waits_total",
    "newsroom_analytics_reads_total",
    "newsroom_analytics_redis_pipeline_duration_seconds", "newsroom_analytics_redis_commands_total",
    "newsroom_analytics_redis_connection_errors_total",
    "newsroom_analytics_redis_error_replies_total", "newsroom_analytics_redis_up",
    "newsroom_analytics_redis_used_memory_bytes", "newsroom_analytics_redis_maxmemory_bytes",
    "newsroom_analytics_top_article_reads",
}
PROMQL_WORDS = {"sum", "by", "rate", "histogram_quantile", "topk", "max", "min", "increase",
                "absent", "or", "le", "grpc_service", "grpc_method", "grpc_code", "grpc_type",
                "result", "reason", "pod", "article_id", "__rate_interval", "namespace", "on",
                "and", "kind"}


def metric_names(expr):
    names = set()
    expr = re.sub(r"\[[^\]]*\]", "", re.sub(r'"[^"]*"', "", expr))  # label values, ranges
    for word in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr):
        if word in PROMQL_WORDS or ":" in word:
            continue
        names.add(re.sub(r"_(bucket|sum|count)$", "", word))
    return names


def load(*parts):
    with open(os.path.join(REPO, *parts)) as f:
        return f.read()


class MonitoringTest(unittest.TestCase):
    def test_prometheus_rule_is_rules_yaml(self):
        rules = yaml.safe_load(load("deploy/components/monitoring/rules.yaml"))
        rule = yaml.safe_load(load("deploy/components/monitoring/prometheus-rule.yaml"))
        self.assertEqual(rule["kind"], "PrometheusRule")
        self.assertEqual(rule["spec"], rules,
                         "regenerate with deploy/components/monitoring/make-prometheus-rule")

    def test_rules_use_exported_metrics_and_link_a_runbook(self):
        rules = yaml.safe_load(load("deploy/components/monitoring/rules.yaml"))
        operations = load("docs/operations.md").lower()
        for group in rules["groups"]:
            for rule in group["rules"]:
                self.assertLessEqual(metric_names(rule["expr"]) - {"newsroom"}, EXPORTED, rule)
                if "alert" in rule:
                    anchor = rule["annotations"]["runbook_url"].split("#")[1]
                    self.assertIn(f"### {anchor}", operations, f"no runbook for {rule['alert']}")

    def test_dashboard_queries_use_exported_metrics(self):
        dashboard = json.loads(load("deploy/components/monitoring/newsroom-dashboard.json"))
        titles = [panel["title"] for panel in dashboard["panels"]]
        for wanted in ("Reads recorded per second", "Top articles today (reads)",
                       "Latency p50 per method", "Latency p99 per method",
                       "Error ratio (server-side codes)", "Outbox depth and oldest read age"):
            self.assertIn(wanted, titles)
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                self.assertLessEqual(metric_names(target["expr"]), EXPORTED, panel["title"])

    def test_service_monitor_port_is_on_both_services(self):
        monitor = yaml.safe_load(load("deploy/components/monitoring/service-monitor.yaml"))
        port = monitor["spec"]["endpoints"][0]["port"]
        for service in ("content-service", "analytics-service"):
            docs = [d for d in yaml.safe_load_all(load("deploy/base", f"{service}.yaml")) if d]
            svc = next(d for d in docs if d["kind"] == "Service")
            self.assertIn(port, [p["name"] for p in svc["spec"]["ports"]], service)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", required=True)
    args, rest = parser.parse_known_args()
    REPO = args.repo
    unittest.main(argv=[sys.argv[0]] + rest)

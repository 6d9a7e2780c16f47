#!/usr/bin/python3
"""Policy test over what `kubectl kustomize deploy/overlays/<overlay>` renders, for every overlay.

usage: k8s_manifests_policy_test.py --repo DIR [unittest options]

For each overlay under deploy/overlays/ (dev, prod, prod-external-stores, and any added later):
  1. the restricted Pod Security Standard for every pod template and every container (init
     containers too), plus a read-only root filesystem and no service account token, and the
     Namespace enforcing `restricted` on everything rendered into it;
  2. content-service and analytics-service: startup, readiness and liveness probes, all `grpc:`
     on the plaintext container port named `health` (never the TLS `grpc` port); liveness and
     startup ask for the "liveness" service, readiness for the overall health. Redis and
     PostgreSQL: readiness and liveness probes;
  3. content-service and analytics-service: a preStop `sleep N` pause (N >= 1) before SIGTERM,
     so that endpoints are updated before the listener closes; terminationGracePeriodSeconds >=
     that pause + the service's shutdown drain (its env var, an absl duration, 10s when unset)
     + what its shutdown does after the drain (content-service: 7s) + 5s;
  4. cpu and memory requests and a memory limit on every container (prod: a cpu limit too), and
     no request above its limit; the services' memory limits at least gRPC's memory quota +
     content-service's responses in flight + 64 MiB for the process;
  5. every image pinned by tag or digest, never `latest`;
  6. prod: an autoscaling/v2 HPA owns content-service's replicas (min >= 3, none in the
     Deployment), analytics-service runs 2, PodDisruptionBudgets that a drain can satisfy (also
     while the pods are unready: unhealthyPodEvictionPolicy AlwaysAllow), spread
     over kubernetes.io/hostname, NetworkPolicies present; dev: one replica of everything and no
     NetworkPolicies;
  7. with NetworkPolicies: an evaluator of their semantics computes every allowed (source,
     destination, port) among the rendered pods, a client pod in another namespace and addresses
     outside the cluster, which must be exactly the traffic Newsroom needs (expected_flows); every
     pod is selected by some policy. With the external-stores component the in-cluster stores are
     gone and the services reach only the ranges that component's patches name;
  8. every Service port is named (content and analytics: `grpc`), every Service selects a pod
     template that has the ports its targetPorts name, and a headless Service's port is the pod's
     (clients dial pod IPs on it); pods reference only rendered ServiceAccounts and ConfigMaps; the
     services' addresses point at rendered Services (or, with external stores, outside).
Every checker returns its violations as text. The tests after the overlay tests prove each one
reports what it should: the NetworkPolicy evaluator on hand-written policies, every checker on
rendered copies with one thing broken (and stays quiet on harmless changes). Defects found in
deploy/ and not yet fixed there are pinned, exactly, in KNOWN_DEFECTS. Without kubectl the overlay
tests are skipped and the script exits 77 (CTest reports the test as skipped).
"""

import argparse
import collections
import copy
import ipaddress
import itertools
import math
import os
import re
import shutil
import subprocess
import sys
import unittest
import urllib.parse
from fractions import Fraction
from typing import NamedTuple, Optional

import yaml

SKIP_RETURN_CODE = 77
NAME_LABEL = "app.kubernetes.io/name"

# Per service: its TLS gRPC port, its plaintext health port, the env var with its drain, and how
# long its shutdown may take after the drain (content-service: up to 5 s for the answers of calls to
# analytics-service, then at least 2 s to deliver queued reads; content-service/src/main.cc).
SERVICES = {
    "content-service": {"grpc": 50051, "health": 50061, "metrics": 50071,
                        "drain_env": "CONTENT_SHUTDOWN_DRAIN", "after_drain_seconds": 7},
    "analytics-service": {"grpc": 50052, "health": 50062, "metrics": 50072,
                          "drain_env": "ANALYTICS_SHUTDOWN_DRAIN", "after_drain_seconds": 0},
}
STORES = {"redis": 6379, "postgres": 5432}
# Which env var of which service holds which dependency's address.
ADDRESSES = {
    ("content-service", "ANALYTICS_ADDR"): "analytics-service",
    ("content-service", "CONTENT_DB"): "postgres",
    ("analytics-service", "REDIS_ADDR"): "redis",
}
DEFAULT_DRAIN = "10s"  # both services' --shutdown-drain default
DRAIN_MARGIN_SECONDS = 5
DEFAULT_GRACE_SECONDS = 30  # Kubernetes' default terminationGracePeriodSeconds

POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet",
                      "ReplicationController", "Job"}
REPLICATED_KINDS = {"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"}
CLUSTER_SCOPED_KINDS = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PriorityClass",
                        "StorageClass", "PersistentVolume", "CustomResourceDefinition",
                        "IngressClass", "RuntimeClass", "ValidatingWebhookConfiguration",
                        "MutatingWebhookConfiguration"}
CONTAINER_FIELDS = {"initContainers": "initContainer", "containers": "container",
                    "ephemeralContainers": "ephemeralContainer"}

# The restricted Pod Security Standard, as
# https://kubernetes.io/docs/concepts/security/pod-security-standards/ lists it.
RESTRICTED_VOLUME_TYPES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                           "persistentVolumeClaim", "projected", "secret"}
SAFE_SYSCTLS = {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range",
                "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies",
                "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
                "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"}
SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
PROFILE_TYPES = {"RuntimeDefault", "Localhost"}  # seccomp and AppArmor
PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")

# The NetworkPolicy matrix's endpoints outside Newsroom's namespace.
OTHER_NAMESPACE = "clients"
# Where Prometheus runs, as deploy/components/network-policies/metrics.yaml assumes: pods labelled
# app.kubernetes.io/name=prometheus in the namespace named `monitoring`.
MONITORING_NAMESPACE = "monitoring"
PROMETHEUS_LABELS = {"app.kubernetes.io/name": "prometheus"}
WORLD_ADDRESS = "203.0.113.50"  # TEST-NET-3: any address outside the cluster
# Ports probed besides those of the pods and the policies: DNS, and two nothing here listens on.
EXTRA_PORTS = {(53, "UDP"), (53, "TCP"), (443, "TCP"), (8080, "TCP")}


# --- parsing -----------------------------------------------------------------------------------

_QUANTITY = re.compile(
    r"^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?$")
_QUANTITY_SUFFIX = {
    None: 1, "n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000),
    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}


def parse_quantity(value):
    """Returns a Kubernetes resource quantity ("250m", "1", "128Mi", "1e3", 0.5) as a Fraction."""
    match = _QUANTITY.match(str(value)) if not isinstance(value, bool) else None
    if not match:
        raise ValueError(f"{value!r} is not a Kubernetes quantity")
    sign, number, exponent, suffix = match.groups()
    scale = Fraction(10) ** int(exponent[1:]) if exponent else _QUANTITY_SUFFIX[suffix]
    return (-1 if sign == "-" else 1) * Fraction(number) * scale


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|ms|s|m|h)")
_DURATION_UNIT = {"ns": Fraction(1, 10**9), "us": Fraction(1, 10**6), "ms": Fraction(1, 1000),
                  "s": 1, "m": 60, "h": 3600}


def parse_duration(text):
    """Returns the seconds in a duration as absl::ParseDuration (the services) reads it: "10s",
    "1m30s", "1.5s", "0". Negative and infinite durations are errors here: no drain can be."""
    if not isinstance(text, str) or text.startswith("-") or text.lstrip("+") in ("", "inf"):
        raise ValueError(f"{text!r} is not a finite, non-negative duration")
    body = text.lstrip("+")
    if body == "0":
        return Fraction(0)
    seconds, pos = Fraction(0), 0
    while pos < len(body):
        part = _DURATION_PART.match(body, pos)
        if not part:
            raise ValueError(f"{text!r} is not a duration (like 10s or 1m30s)")
        seconds += Fraction(part.group(1)) * _DURATION_UNIT[part.group(2)]
        pos = part.end()
    return seconds


_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def image_problem(image):
    """Returns what is wrong with an image reference, or None when a tag or digest pins it."""
    if not isinstance(image, str) or not image:
        return "has no image"
    name, at, digest = image.partition("@")
    if at:
        return None if _DIGEST.match(digest) else f"has a malformed digest {digest!r}"
    last = name.rsplit("/", 1)[-1]  # a registry's ":port" is before the last "/"
    if ":" not in last:
        return "has no tag, so it means :latest"
    tag = last.split(":", 1)[1]
    if not _TAG.match(tag):
        return f"has a malformed tag {tag!r}"
    if tag == "latest":
        return "uses the tag latest"
    return None


def selector_matches(selector, labels):
    """Whether a LabelSelector selects these labels: {} selects everything, None nothing."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values") or []
        if operator == "In":
            ok = key in labels and labels[key] in values
        elif operator == "NotIn":
            ok = key not in labels or labels[key] not in values
        elif operator == "Exists":
            ok = key in labels
        elif operator == "DoesNotExist":
            ok = key not in labels
        else:
            raise ValueError(f"unknown matchExpressions operator {operator!r}")
        if not ok:
            return False
    return True


# --- rendered objects --------------------------------------------------------------------------


class Overlay(NamedTuple):
    name: str
    objs: list
    external_stores: bool  # lists components/external-stores
    store_ranges: dict  # store -> [ip_network] that component's patches open, when it is used


def describe(obj):
    return f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"


def of_kind(objs, kind):
    return [obj for obj in objs if obj.get("kind") == kind]


def namespace_of(obj):
    return (obj.get("metadata") or {}).get("namespace") or "default"


def pod_templates(objs):
    """Yields (workload, template) for every pod template rendered, bare Pods' and CronJobs' too."""
    for obj in objs:
        kind, spec = obj.get("kind"), obj.get("spec") or {}
        if kind in POD_TEMPLATE_KINDS:
            yield obj, spec.get("template") or {}
        elif kind == "CronJob":
            yield obj, ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
        elif kind == "Pod":
            yield obj, obj


def labels_of(obj):
    return (obj.get("metadata") or {}).get("labels") or {}


def app_name(workload, template):
    return labels_of(template).get(NAME_LABEL) or (workload.get("metadata") or {}).get("name")


def all_containers(pod_spec):
    """Yields (where, container) for every container, init and ephemeral ones too."""
    for field, singular in CONTAINER_FIELDS.items():
        for container in pod_spec.get(field) or []:
            yield f"{singular} {container.get('name')}", container


def container_ports(pod_spec):
    """Returns (name, number, protocol) of every port of the pod's containers."""
    return tuple((port.get("name"), port.get("containerPort"), port.get("protocol", "TCP"))
                 for container in pod_spec.get("containers") or []
                 for port in container.get("ports") or [])


def env_value(pod_spec, name):
    """Returns the last value a container of the pod gives env var `name` (the one that wins),
    None when none does; raises ValueError when it comes from a Secret or ConfigMap."""
    value = None
    for container in pod_spec.get("containers") or []:
        for var in container.get("env") or []:
            if var.get("name") == name:
                if "value" not in var:
                    raise ValueError(f"{name} comes from valueFrom, which this test cannot read")
                value = var["value"]
    return value


def is_prod(overlay):
    return overlay.name == "prod" or overlay.name.startswith("prod-")


def is_dev(overlay):
    return overlay.name == "dev" or overlay.name.startswith("dev-")


# --- 1. Pod Security Standard `restricted` -----------------------------------------------------


def check_pod_security(overlay):
    out = []
    namespaces = of_kind(overlay.objs, "Namespace")
    if len(namespaces) != 1:
        out.append(f"{len(namespaces)} Namespace objects rendered, want 1")
    for namespace in namespaces:
        enforce = labels_of(namespace).get("pod-security.kubernetes.io/enforce")
        if enforce != "restricted":
            out.append(f"{describe(namespace)}: pod-security.kubernetes.io/enforce is {enforce!r}, "
                       "want restricted")
    for workload, template in pod_templates(overlay.objs):
        out += _pod_security_violations(describe(workload), template)
    return out


def _profile_violation(where, what, profile):
    if profile is not None and profile.get("type") not in PROFILE_TYPES:
        return [f"{where}: {what} type {profile.get('type')!r}, want RuntimeDefault or Localhost"]
    return []


def _pod_security_violations(where, template):
    out = []
    spec = template.get("spec") or {}
    pod_context = spec.get("securityContext") or {}
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            out.append(f"{where}: {field} is true")
    if spec.get("automountServiceAccountToken") is not False:
        out.append(f"{where}: automountServiceAccountToken is not false")
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if kinds - RESTRICTED_VOLUME_TYPES:
            out.append(f"{where}: volume {volume.get('name')} is {', '.join(sorted(kinds))}, not a "
                       "volume type the restricted standard allows (hostPath among them)")
    for sysctl in pod_context.get("sysctls") or []:
        if sysctl.get("name") not in SAFE_SYSCTLS:
            out.append(f"{where}: sysctl {sysctl.get('name')} is not a safe sysctl")
    for key, value in ((template.get("metadata") or {}).get("annotations") or {}).items():
        if key.startswith("container.apparmor.security.beta.kubernetes.io/") and not (
                value == "runtime/default" or value.startswith("localhost/")):
            out.append(f"{where}: AppArmor annotation {key} is {value!r}")
    out += _profile_violation(where, "appArmorProfile", pod_context.get("appArmorProfile"))
    for where_container, container in all_containers(spec):
        cwhere = f"{where} {where_container}"
        context = container.get("securityContext") or {}

        def effective(key):
            return context[key] if key in context else pod_context.get(key)

        if context.get("privileged"):
            out.append(f"{cwhere}: privileged")
        if context.get("allowPrivilegeEscalation") is not False:
            out.append(f"{cwhere}: allowPrivilegeEscalation is not false")
        if context.get("readOnlyRootFilesystem") is not True:
            out.append(f"{cwhere}: readOnlyRootFilesystem is not true")
        if effective("runAsNonRoot") is not True:
            out.append(f"{cwhere}: runAsNonRoot is not true (pod or container)")
        user = effective("runAsUser")
        if not isinstance(user, int) or isinstance(user, bool) or user == 0:
            out.append(f"{cwhere}: runAsUser is {user!r}, want a numeric non-root user")
        seccomp = effective("seccompProfile") or {}
        if seccomp.get("type") not in PROFILE_TYPES:
            out.append(f"{cwhere}: seccompProfile type is {seccomp.get('type')!r}, want "
                       "RuntimeDefault or Localhost")
        capabilities = context.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            out.append(f"{cwhere}: capabilities do not drop ALL")
        added = set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}
        if added:
            out.append(f"{cwhere}: capabilities add {', '.join(sorted(added))}")
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                out.append(f"{cwhere}: hostPort {port['hostPort']}")
        if context.get("procMount", "Default") != "Default":
            out.append(f"{cwhere}: procMount {context['procMount']}")
        out += _profile_violation(cwhere, "appArmorProfile", context.get("appArmorProfile"))
        for options in (pod_context.get("seLinuxOptions"), context.get("seLinuxOptions")):
            if options and (options.get("type", "") not in SELINUX_TYPES or
                            options.get("user") or options.get("role")):
                out.append(f"{cwhere}: seLinuxOptions {options}")
        for options in (pod_context.get("windowsOptions"), context.get("windowsOptions")):
            if options and options.get("hostProcess"):
                out.append(f"{cwhere}: windowsOptions.hostProcess")
    return out


def check_namespaces(overlay):
    """Every namespaced object is in the rendered (restricted) Namespace: one without a namespace
    lands wherever `kubectl apply` points (the context's namespace, usually default), where the
    Pod Security labels do not hold and an HPA, PodDisruptionBudget or NetworkPolicy finds none
    of Newsroom's pods."""
    out = []
    home = {(ns.get("metadata") or {}).get("name") for ns in of_kind(overlay.objs, "Namespace")}
    for obj in overlay.objs:
        if obj.get("kind") in CLUSTER_SCOPED_KINDS:
            continue
        namespace = (obj.get("metadata") or {}).get("namespace")
        if namespace is None:
            out.append(f"{describe(obj)}: no namespace, so kubectl puts it in the context's "
                       f"(usually default), not in {', '.join(sorted(home))}")
        elif namespace not in home:
            out.append(f"{describe(obj)}: in namespace {namespace}, not in "
                       f"{', '.join(sorted(home))}")
    return out


# --- 2. probes ---------------------------------------------------------------------------------


def _probe_handlers(probe):
    return [handler for handler in PROBE_HANDLERS if handler in probe]


def check_probes(overlay):
    out = []
    for workload, template in pod_templates(overlay.objs):
        app, spec = app_name(workload, template), template.get("spec") or {}
        for container in spec.get("containers") or []:
            where = f"{describe(workload)} container {container.get('name')}"
            named = {port.get("name"): port.get("containerPort")
                     for port in container.get("ports") or [] if port.get("name")}
            if app in SERVICES:
                out += _service_probe_violations(where, container, named)
            elif app in STORES:
                for kind in ("readinessProbe", "livenessProbe"):
                    probe = container.get(kind)
                    if not probe:
                        out.append(f"{where}: no {kind}")
                    elif len(_probe_handlers(probe)) != 1:
                        out.append(f"{where}: {kind} has handlers {_probe_handlers(probe)}")
                    else:
                        handler = probe[_probe_handlers(probe)[0]]
                        port = handler.get("port") if isinstance(handler, dict) else None
                        if isinstance(port, str) and port not in named:
                            out.append(f"{where}: {kind} names port {port}, which the container "
                                       "does not have")
    return out


def _service_probe_violations(where, container, named):
    out = []
    health, grpc = named.get("health"), named.get("grpc")
    if health is None:
        out.append(f"{where}: no container port named health")
    if grpc is None:
        out.append(f"{where}: no container port named grpc")
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        probe = container.get(kind)
        if not probe:
            out.append(f"{where}: no {kind}")
            continue
        if _probe_handlers(probe) != ["grpc"]:
            out.append(f"{where}: {kind} is {_probe_handlers(probe) or 'empty'}, want grpc:")
            continue
        port = probe["grpc"].get("port")
        if health is None or port != health or port == grpc:
            out.append(f"{where}: {kind} probes port {port}, want the health port ({health}), "
                       f"not the TLS grpc port ({grpc})")
        service = probe["grpc"].get("service") or ""
        want = "" if kind == "readinessProbe" else "liveness"
        if service != want:
            out.append(f"{where}: {kind} asks for service {service!r}, want {want!r}")
    return out


# --- 3. drain and grace period -----------------------------------------------------------------


def pre_stop_pause(container):
    """Seconds of the container's preStop `sleep N` (exec) or `sleep: {seconds: N}` hook; None
    when it has no such pause; raises ValueError for a preStop hook that is not a plain pause."""
    hook = (container.get("lifecycle") or {}).get("preStop")
    if not hook:
        return None
    if "sleep" in hook:
        return int(hook["sleep"].get("seconds", 0))
    command = (hook.get("exec") or {}).get("command") or []
    if len(command) == 2 and command[0] in ("sleep", "/bin/sleep") and command[1].isdigit():
        return int(command[1])
    raise ValueError(f"preStop {hook!r} is not a plain pause (exec [sleep, N] or sleep)")


def check_drain(overlay):
    out = []
    for workload, template in pod_templates(overlay.objs):
        app, spec = app_name(workload, template), template.get("spec") or {}
        if app not in SERVICES:
            continue
        where, variable = describe(workload), SERVICES[app]["drain_env"]
        service = next((c for c in spec.get("containers") or [] if c.get("name") == app), {})
        try:
            pause = pre_stop_pause(service)
        except ValueError as error:
            out.append(f"{where}: container {app}: {error}")
            continue
        if not pause:
            out.append(f"{where}: container {app}: no preStop pause: new connections would "
                       "still arrive, and be refused, while its endpoints are being removed")
            pause = 0
        try:
            text = env_value(spec, variable) or DEFAULT_DRAIN
            drain = parse_duration(text)
        except ValueError as error:
            out.append(f"{where}: {variable}: {error}")
            continue
        grace = spec.get("terminationGracePeriodSeconds", DEFAULT_GRACE_SECONDS)
        after = SERVICES[app]["after_drain_seconds"]
        if grace < pause + drain + after + DRAIN_MARGIN_SECONDS:
            out.append(f"{where}: terminationGracePeriodSeconds {grace} is less than the preStop "
                       f"pause ({pause}s) + {variable} ({text}) + {after}s after it + "
                       f"{DRAIN_MARGIN_SECONDS}s: SIGKILL would cut the shutdown short")
    return out


# --- 4. resources ------------------------------------------------------------------------------


def check_resources(overlay):
    out = []
    required = {"requests": ("cpu", "memory"),
                "limits": ("cpu", "memory") if is_prod(overlay) else ("memory",)}
    for workload, template in pod_templates(overlay.objs):
        for where, container in all_containers(template.get("spec") or {}):
            if where.startswith("ephemeralContainer"):
                continue  # they cannot have resources
            where = f"{describe(workload)} {where}"
            resources = container.get("resources") or {}
            amounts = {kind: resources.get(kind) or {} for kind in ("requests", "limits")}
            for kind, names in required.items():
                out += [f"{where}: no {name} {kind[:-1]}" for name in names
                        if name not in amounts[kind]]
            for name in sorted(set(amounts["requests"]) & set(amounts["limits"])):
                request, limit = amounts["requests"][name], amounts["limits"][name]
                try:
                    if parse_quantity(request) > parse_quantity(limit):
                        out.append(f"{where}: {name} request {request} > limit {limit}")
                except ValueError as error:
                    out.append(f"{where}: {name}: {error}")
    return out


_REDIS_SIZE = re.compile(r"(\d+)(k|kb|m|mb|g|gb)?", re.IGNORECASE)
_REDIS_UNIT = {None: 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3,
               "gb": 1024**3}


def redis_maxmemory(conf):
    """The maxmemory a redis.conf sets, in bytes (Redis's own units: mb is MiB), or None."""
    value = None
    for line in conf.splitlines():
        words = line.split()
        if len(words) == 2 and words[0].lower() == "maxmemory":
            match = _REDIS_SIZE.fullmatch(words[1])
            value = int(match.group(1)) * _REDIS_UNIT[(match.group(2) or "").lower() or None] \
                if match else -1
    return value


# What each service's own bounds let it hold under a flood: gRPC's buffers up to the server's
# memory quota (common/src/grpc_server.h, memory_quota_bytes: 128 MiB), content-service's responses
# in flight up to CONTENT_MAX_RESPONSE_BYTES_IN_FLIGHT (64 MiB by default), and the process itself
# (content-service peaked at 59 MiB with 100 000 articles, analytics-service at 44: the issue's
# 64 MB bound, docs/performance.md).
GRPC_MEMORY_QUOTA = 128 * 2**20
PROCESS_MEMORY = 64 * 2**20
RESPONSE_BOUND_ENV = "CONTENT_MAX_RESPONSE_BYTES_IN_FLIGHT"
DEFAULT_RESPONSE_BOUND = 64 * 2**20


def check_service_memory(overlay):
    """A service's memory limit holds what its own bounds let it use, so that a flood meets
    RESOURCE_EXHAUSTED from the service rather than the kernel's OOM killer."""
    out = []
    for workload, template in pod_templates(overlay.objs):
        app, spec = app_name(workload, template), template.get("spec") or {}
        if app not in SERVICES:
            continue
        need = GRPC_MEMORY_QUOTA + PROCESS_MEMORY
        if app == "content-service":
            try:
                text = env_value(spec, RESPONSE_BOUND_ENV)
            except ValueError as error:
                out.append(f"{describe(workload)}: {error}")
                continue
            need += int(text) if text is not None else DEFAULT_RESPONSE_BOUND
        for where, container in all_containers(spec):
            if container.get("name") != app:
                continue
            limit = ((container.get("resources") or {}).get("limits") or {}).get("memory")
            if limit is None or parse_quantity(limit) < need:
                out.append(f"{describe(workload)} {where}: memory limit {limit} is under what the "
                           f"service's own bounds let it hold ({need // 2**20} MiB: gRPC's quota, "
                           "its responses in flight, the process)")
    return out


def check_redis_memory(overlay):
    """An in-cluster Redis's memory limit is at least twice its maxmemory: a full Redis holds
    about 1.45 times maxmemory resident (the dedup markers' small hashes grow together and leave
    the allocator's pages part-used) and an append-only-file rewrite's copied pages up to 0.37
    times more, 1.81 times in all (bench/redis-fill; docs/operations.md, "Redis memory")."""
    out = []
    configs = {(namespace_of(c), (c.get("metadata") or {}).get("name")): c["data"]["redis.conf"]
               for c in of_kind(overlay.objs, "ConfigMap")
               if "redis.conf" in (c.get("data") or {})}
    for workload, template in pod_templates(overlay.objs):
        if app_name(workload, template) != "redis":
            continue
        spec = template.get("spec") or {}
        mounted = [configs.get((namespace_of(workload), (v.get("configMap") or {}).get("name")))
                   for v in spec.get("volumes") or []]
        mounted = [conf for conf in mounted if conf is not None]
        if len(mounted) != 1:
            out.append(f"{describe(workload)}: {len(mounted)} redis.conf mounted, want 1")
            continue
        maxmemory = redis_maxmemory(mounted[0])
        if maxmemory is None or maxmemory <= 0:
            out.append(f"{describe(workload)}: redis.conf sets no usable maxmemory")
            continue
        for where, container in all_containers(spec):
            if container.get("name") != "redis":
                continue
            limit = ((container.get("resources") or {}).get("limits") or {}).get("memory")
            if limit is None or parse_quantity(limit) < 2 * maxmemory:
                out.append(f"{describe(workload)} {where}: memory limit {limit} is under twice "
                           f"maxmemory ({maxmemory} bytes)")
    return out


# --- 5. images ---------------------------------------------------------------------------------


def check_images(overlay):
    out = []
    for workload, template in pod_templates(overlay.objs):
        for where, container in all_containers(template.get("spec") or {}):
            problem = image_problem(container.get("image"))
            if problem:
                out.append(f"{describe(workload)} {where}: image {container.get('image')!r} "
                           f"{problem}")
    return out


# --- 6. prod and dev ---------------------------------------------------------------------------


def _templates_by_app(objs):
    return {app_name(workload, template): (workload, template)
            for workload, template in pod_templates(objs)}


def _scaled(value, total):
    """An IntOrString of a PodDisruptionBudget against `total` pods (percentages round up)."""
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(total * int(value[:-1]) / 100)
    return int(value)


def check_prod(overlay):
    if not is_prod(overlay):
        return []
    out, objs = [], overlay.objs
    apps = _templates_by_app(objs)
    if not of_kind(objs, "NetworkPolicy"):
        out.append("prod renders no NetworkPolicies")
    floors = {}  # the fewest pods each service runs

    hpas = [hpa for hpa in of_kind(objs, "HorizontalPodAutoscaler")
            if ((hpa.get("spec") or {}).get("scaleTargetRef") or {}).get("kind") == "Deployment"
            and hpa["spec"]["scaleTargetRef"].get("name") == "content-service"]
    if len(hpas) != 1:
        out.append(f"{len(hpas)} HorizontalPodAutoscalers target Deployment/content-service, "
                   "want 1")
    for hpa in hpas:
        spec = hpa["spec"]
        if hpa.get("apiVersion") != "autoscaling/v2":
            out.append(f"{describe(hpa)}: apiVersion {hpa.get('apiVersion')}, want autoscaling/v2")
        if spec["scaleTargetRef"].get("apiVersion") != "apps/v1":
            out.append(f"{describe(hpa)}: scaleTargetRef.apiVersion is not apps/v1")
        floors["content-service"] = spec.get("minReplicas", 1)
        if floors["content-service"] < 3:
            out.append(f"{describe(hpa)}: minReplicas {floors['content-service']}, want >= 3")
        if spec.get("maxReplicas", 0) < floors["content-service"]:
            out.append(f"{describe(hpa)}: maxReplicas {spec.get('maxReplicas')} < minReplicas")

    for app in SERVICES:
        if app not in apps:
            out.append(f"no pod template for {app}")
            continue
        workload, template = apps[app]
        spec = workload.get("spec") or {}
        if app == "content-service" and "replicas" in spec:
            out.append(f"{describe(workload)}: sets replicas ({spec['replicas']}), which the "
                       "HorizontalPodAutoscaler owns")
        if app == "analytics-service":
            floors[app] = spec.get("replicas", 1)
            if floors[app] != 2:
                out.append(f"{describe(workload)}: replicas {floors[app]}, want 2")

        labels = labels_of(template)
        budgets = [pdb for pdb in of_kind(objs, "PodDisruptionBudget")
                   if selector_matches((pdb.get("spec") or {}).get("selector"), labels)]
        if not budgets:
            out.append(f"no PodDisruptionBudget selects {app}'s pods")
        for pdb in budgets:
            out += _budget_violations(pdb, app, floors.get(app))

        spreads = [constraint for constraint in
                   (template.get("spec") or {}).get("topologySpreadConstraints") or []
                   if constraint.get("topologyKey") == "kubernetes.io/hostname"
                   and selector_matches(constraint.get("labelSelector"), labels)]
        if not spreads:
            out.append(f"{describe(workload)}: no topologySpreadConstraint over "
                       "kubernetes.io/hostname that selects its own pods")
    return out


def _budget_violations(pdb, app, floor):
    spec = pdb.get("spec") or {}
    if pdb.get("apiVersion") != "policy/v1":
        return [f"{describe(pdb)}: apiVersion {pdb.get('apiVersion')}, want policy/v1"]
    if floor is None:
        return []
    if "minAvailable" in spec:
        evictable = floor - _scaled(spec["minAvailable"], floor)
    elif "maxUnavailable" in spec:
        evictable = _scaled(spec["maxUnavailable"], floor)
    else:
        return [f"{describe(pdb)}: neither minAvailable nor maxUnavailable"]
    if evictable < 1:
        return [f"{describe(pdb)}: at {app}'s {floor} pods no pod can be evicted, so it blocks "
                "every node drain"]
    if spec.get("unhealthyPodEvictionPolicy") != "AlwaysAllow":
        return [f"{describe(pdb)}: unhealthyPodEvictionPolicy is not AlwaysAllow: while {app}'s "
                "pods are unready (say, its store is down) the budget blocks every node drain"]
    return []


def check_dev(overlay):
    if not is_dev(overlay):
        return []
    out = [f"dev renders {describe(policy)}; dev has none by design"
           for policy in of_kind(overlay.objs, "NetworkPolicy")]
    out += [f"dev renders {describe(hpa)}"
            for hpa in of_kind(overlay.objs, "HorizontalPodAutoscaler")]
    for obj in overlay.objs:
        if obj.get("kind") in REPLICATED_KINDS:
            replicas = (obj.get("spec") or {}).get("replicas", 1)
            if replicas != 1:
                out.append(f"{describe(obj)}: replicas {replicas}, want 1 in dev")
    return out


# --- 8. Services, references, addresses --------------------------------------------------------


def _resolve_port(ports, target, protocol):
    """The number a Service targetPort (a name or number) means on a pod with these ports."""
    for name, number, port_protocol in ports:
        if port_protocol == protocol and (target == name or target == number):
            return number
    return None


def check_services(overlay):
    out = []
    templates = list(pod_templates(overlay.objs))
    for service in of_kind(overlay.objs, "Service"):
        where, spec = describe(service), service.get("spec") or {}
        name = (service.get("metadata") or {}).get("name")
        ports = spec.get("ports") or []
        out += [f"{where}: unnamed port {port.get('port')}"
                for port in ports if not port.get("name")]
        if name in SERVICES and not any(port.get("name") == "grpc" and
                                        port.get("port") == SERVICES[name]["grpc"]
                                        for port in ports):
            out.append(f"{where}: no port named grpc on {SERVICES[name]['grpc']}")
        selector = spec.get("selector")
        selected = [template for workload, template in templates if selector and
                    namespace_of(workload) == namespace_of(service) and
                    all(labels_of(template).get(k) == v for k, v in selector.items())]
        if not selected:
            out.append(f"{where}: selector {selector} selects no pod template")
        for template in selected:
            pod_ports = container_ports(template.get("spec") or {})
            for port in ports:
                target = port.get("targetPort", port.get("port"))
                number = _resolve_port(pod_ports, target, port.get("protocol", "TCP"))
                if number is None:
                    out.append(f"{where}: targetPort {target} is no container port of "
                               f"{labels_of(template).get(NAME_LABEL)}")
                elif spec.get("clusterIP") == "None" and number != port.get("port"):
                    out.append(f"{where}: headless, so clients dial the pods on port "
                               f"{port.get('port')}, but targetPort {target} is {number}")
    return out


def check_references(overlay):
    out = []
    rendered = collections.defaultdict(set)
    for obj in overlay.objs:
        rendered[obj.get("kind")].add((namespace_of(obj), (obj.get("metadata") or {}).get("name")))
    for workload, template in pod_templates(overlay.objs):
        spec, namespace = template.get("spec") or {}, namespace_of(workload)
        account = spec.get("serviceAccountName", "default")
        if account != "default" and (namespace, account) not in rendered["ServiceAccount"]:
            out.append(f"{describe(workload)}: ServiceAccount {account} is not rendered")
        sources = [volume.get("configMap") for volume in spec.get("volumes") or []]
        sources += [source.get("configMap") for volume in spec.get("volumes") or []
                    for source in (volume.get("projected") or {}).get("sources") or []]
        for source in filter(None, sources):
            if (not source.get("optional") and
                    (namespace, source.get("name")) not in rendered["ConfigMap"]):
                out.append(f"{describe(workload)}: ConfigMap {source.get('name')} is not rendered")
    return out


def _address_host_port(value):
    if "://" in value:
        url = urllib.parse.urlsplit(value)
        return url.hostname, url.port
    host, _, port = value.rpartition(":")
    return host, int(port) if port.isdigit() else None


def _in_cluster_service(host, namespace):
    """The Service name a host name means inside `namespace`, None for a name outside it."""
    match = re.fullmatch(rf"([a-z0-9-]+)(\.{re.escape(namespace)}(\.svc(\.cluster\.local)?)?)?",
                         host or "")
    return match.group(1) if match else None


def check_stores(overlay):
    """The services' dependencies are where their addresses say: in-cluster Services, or, with
    the external-stores component, outside the cluster with no in-cluster store left behind."""
    out, objs = [], overlay.objs
    apps = collections.Counter(app_name(w, t) for w, t in pod_templates(objs))
    services = {(namespace_of(s), (s.get("metadata") or {}).get("name")): s
                for s in of_kind(objs, "Service")}
    for app in list(SERVICES) + list(STORES):
        want = 0 if app in STORES and overlay.external_stores else 1
        if apps[app] != want:
            out.append(f"{apps[app]} pod templates for {app}, want {want}")
    if overlay.external_stores:
        out += [f"{describe(obj)}: left behind by the in-cluster {store}" for obj in objs
                for store in STORES
                if re.fullmatch(rf"{store}(-config.*)?",
                                (obj.get("metadata") or {}).get("name", ""))]
    for workload, template in pod_templates(objs):
        app = app_name(workload, template)
        for (owner, variable), target in ADDRESSES.items():
            if owner != app:
                continue
            where = f"{describe(workload)}: {variable}"
            try:
                value = env_value(template.get("spec") or {}, variable)
            except ValueError as error:
                out.append(f"{where}: {error}")
                continue
            if value is None:
                out.append(f"{where} is not set")
                continue
            host, port = _address_host_port(value)
            name = _in_cluster_service(host, namespace_of(workload))
            if target in STORES and overlay.external_stores:
                if name is not None:
                    out.append(f"{where} {value} names an in-cluster host, not the external "
                               f"{target}")
                if port != STORES[target]:
                    out.append(f"{where} {value}: port {port}, but the NetworkPolicies open "
                               f"{STORES[target]}")
                continue
            service = services.get((namespace_of(workload), name))
            if name != target or service is None:
                out.append(f"{where} {value} is not the rendered Service {target}")
            elif port not in [p.get("port")
                              for p in (service.get("spec") or {}).get("ports") or []]:
                out.append(f"{where} {value}: Service {target} has no port {port}")
    return out


# --- 7. NetworkPolicies ------------------------------------------------------------------------


class Endpoint(NamedTuple):
    """A source or destination of traffic: a pod (namespace set) or an address outside the
    cluster (ip set)."""
    name: str
    namespace: Optional[str] = None
    labels: dict = {}
    ports: tuple = ()  # (name, number, protocol) of the pod's container ports
    ip: Optional[str] = None


def policy_types(spec):
    """A policy's policyTypes; unset, Ingress, plus Egress if it has egress rules."""
    if spec.get("policyTypes"):
        return set(spec["policyTypes"])
    return {"Ingress"} | ({"Egress"} if spec.get("egress") else set())


class NetworkPolicies:
    """Kubernetes NetworkPolicy semantics (networking.k8s.io/v1) over a set of policies.

    A pod is isolated for ingress (egress) when any policy selecting it has that policy type; an
    isolated pod's traffic in that direction is allowed when some rule of some such policy allows
    it. Traffic from A to B is allowed when A's egress and B's ingress both allow it. ipBlock
    peers match addresses outside the cluster only (which pod IPs they match is up to the CNI).
    """

    def __init__(self, policies, namespace_labels):
        self.policies = policies
        # Namespace name -> labels, kubernetes.io/metadata.name included (the API server sets it).
        self.namespace_labels = {name: {**labels, "kubernetes.io/metadata.name": name}
                                 for name, labels in namespace_labels.items()}

    def selecting(self, endpoint, policy_type=None):
        """The policies that select `endpoint` (and have `policy_type`, when given)."""
        if endpoint.namespace is None:
            return []
        return [policy for policy in self.policies
                if namespace_of(policy) == endpoint.namespace
                and selector_matches((policy.get("spec") or {}).get("podSelector", {}),
                                     endpoint.labels)
                and (policy_type is None or policy_type in policy_types(policy.get("spec") or {}))]

    def allows(self, source, destination, port, protocol):
        return (self._direction_allows("Egress", source, destination, destination, port, protocol)
                and self._direction_allows("Ingress", destination, source, destination, port,
                                           protocol))

    def _direction_allows(self, policy_type, subject, peer, destination, port, protocol):
        isolating = self.selecting(subject, policy_type)
        if not isolating:
            return True
        rules_key, peers_key = ("egress", "to") if policy_type == "Egress" else ("ingress", "from")
        return any(self._rule_allows(rule.get(peers_key), rule.get("ports"), namespace_of(policy),
                                     peer, destination, port, protocol)
                   for policy in isolating for rule in policy["spec"].get(rules_key) or [])

    def _rule_allows(self, peers, ports, policy_namespace, peer, destination, port, protocol):
        if peers and not any(self._peer_matches(p, policy_namespace, peer) for p in peers):
            return False  # absent or empty `from`/`to`: every peer
        return _ports_match(ports, destination, port, protocol)

    def _peer_matches(self, peer, policy_namespace, endpoint):
        if "ipBlock" in peer:
            if endpoint.ip is None:
                return False
            address, block = ipaddress.ip_address(endpoint.ip), peer["ipBlock"]
            return (address in ipaddress.ip_network(block["cidr"], strict=False) and
                    not any(address in ipaddress.ip_network(e, strict=False)
                            for e in block.get("except") or []))
        if endpoint.namespace is None:
            return False
        if "namespaceSelector" in peer:
            if not selector_matches(peer["namespaceSelector"],
                                    self.namespace_labels.get(endpoint.namespace, {})):
                return False
        elif endpoint.namespace != policy_namespace:
            return False
        return selector_matches(peer.get("podSelector", {}), endpoint.labels)


def _ports_match(ports, destination, port, protocol):
    """Whether a rule's `ports` admit port/protocol on `destination` (absent or empty: all).
    A named port is looked up on the destination pod, in egress and ingress rules alike."""
    if not ports:
        return True
    for entry in ports:
        if entry.get("protocol", "TCP") != protocol:
            continue
        wanted = entry.get("port")
        if wanted is None:
            return True
        if isinstance(wanted, str):
            if (wanted, port, protocol) in destination.ports:
                return True
        elif wanted <= port <= entry.get("endPort", wanted):
            return True
    return False


def representative_address(cidr, excepts=()):
    """An address inside cidr and outside every except, or None."""
    excluded = [ipaddress.ip_network(e, strict=False) for e in excepts]
    for address in itertools.islice(ipaddress.ip_network(cidr, strict=False).hosts(), 1024):
        if not any(address in network for network in excluded):
            return str(address)
    return None


def outside_endpoints(policies):
    """A client pod in another namespace, an address outside the cluster, and one address in (and
    one in each exception of) every ipBlock the policies name."""
    addresses = {WORLD_ADDRESS}
    for policy in policies:
        spec = policy.get("spec") or {}
        for rule in (spec.get("ingress") or []) + (spec.get("egress") or []):
            for peer in (rule.get("from") or []) + (rule.get("to") or []):
                block = peer.get("ipBlock")
                if block:
                    addresses.add(representative_address(block["cidr"], block.get("except") or []))
                    addresses.update(representative_address(e) for e in block.get("except") or [])
    addresses.discard(None)
    client = Endpoint("client in another namespace", OTHER_NAMESPACE, {"app": "client"})
    prometheus = Endpoint("prometheus in monitoring", MONITORING_NAMESPACE, PROMETHEUS_LABELS)
    # Another pod in the monitoring namespace: the metrics ports must stay closed to it.
    other = Endpoint("other pod in monitoring", MONITORING_NAMESPACE, {"app": "grafana"})
    return [client, prometheus, other] + [Endpoint(f"outside {a}", ip=a) for a in sorted(addresses)]


def pod_endpoints(objs):
    return [Endpoint(app_name(workload, template), namespace_of(workload), labels_of(template),
                     container_ports(template.get("spec") or {}))
            for workload, template in pod_templates(objs)]


def candidate_ports(pods, policies):
    ports = set(EXTRA_PORTS)
    ports.update((number, protocol) for pod in pods for _, number, protocol in pod.ports)
    for policy in policies:
        spec = policy.get("spec") or {}
        for rule in (spec.get("ingress") or []) + (spec.get("egress") or []):
            for entry in rule.get("ports") or []:
                if isinstance(entry.get("port"), int):
                    for number in (entry["port"], entry.get("endPort", entry["port"])):
                        ports.add((number, entry.get("protocol", "TCP")))
    return ports


def allowed_flows(evaluator, pods, outside, ports):
    """Every (source, destination, port, protocol) allowed with a rendered pod at one end."""
    flows = set()
    for source, destination in itertools.product(pods + outside, repeat=2):
        if source in outside and destination in outside:
            continue
        for port, protocol in ports:
            if evaluator.allows(source, destination, port, protocol):
                flows.add((source.name, destination.name, port, protocol))
    return flows


def expected_flows(pods, outside, store_ranges):
    """The traffic Newsroom needs, and nothing else (deploy/components/network-policies)."""
    names = {pod.name for pod in pods}
    flows = {(end.name, "content-service", SERVICES["content-service"]["grpc"], "TCP")
             for end in outside}
    flows.add(("content-service", "analytics-service", SERVICES["analytics-service"]["grpc"],
               "TCP"))
    for service in ("content-service", "analytics-service"):  # scrapes, from Prometheus only
        if service in names:
            flows.add(("prometheus in monitoring", service, SERVICES[service]["metrics"], "TCP"))
    for store, client in (("postgres", "content-service"), ("redis", "analytics-service")):
        if store in names:
            flows.add((client, store, STORES[store], "TCP"))
        for end in outside:  # an external store: its range only
            if end.ip and any(ipaddress.ip_address(end.ip) in network
                              for network in store_ranges.get(store, [])):
                flows.add((client, end.name, STORES[store], "TCP"))
    for pod in pods:  # DNS, to wherever the cluster's resolver is
        for end in outside:
            flows.update({(pod.name, end.name, 53, "UDP"), (pod.name, end.name, 53, "TCP")})
    return flows


def format_flow(flow):
    source, destination, port, protocol = flow
    return f"{source} -> {destination}:{port}/{protocol}"


def check_network(overlay):
    policies = of_kind(overlay.objs, "NetworkPolicy")
    if not policies:
        return []
    namespace_labels = {(ns.get("metadata") or {}).get("name"): labels_of(ns)
                        for ns in of_kind(overlay.objs, "Namespace")}
    # A policy without a namespace is check_namespaces' finding; here it is judged as applied
    # into Newsroom's namespace (`kubectl apply -n`), so the two failures stay apart.
    if len(namespace_labels) == 1:
        home = next(iter(namespace_labels))
        policies = [policy if (policy.get("metadata") or {}).get("namespace") else
                    {**policy, "metadata": {**(policy.get("metadata") or {}), "namespace": home}}
                    for policy in policies]
    namespace_labels[OTHER_NAMESPACE] = {"kubernetes.io/metadata.name": OTHER_NAMESPACE}
    namespace_labels[MONITORING_NAMESPACE] = {"kubernetes.io/metadata.name": MONITORING_NAMESPACE}
    evaluator = NetworkPolicies(policies, namespace_labels)
    pods, outside = pod_endpoints(overlay.objs), outside_endpoints(policies)
    out = [f"{pod.name}: selected by no NetworkPolicy" for pod in pods
           if not evaluator.selecting(pod)]
    actual = allowed_flows(evaluator, pods, outside, candidate_ports(pods, policies))
    expected = expected_flows(pods, outside, overlay.store_ranges)
    out += [f"allowed but not needed: {format_flow(f)}" for f in sorted(actual - expected)]
    out += [f"needed but denied: {format_flow(f)}" for f in sorted(expected - actual)]
    return out


CHECKS = (check_pod_security, check_namespaces, check_probes, check_drain, check_resources,
          check_redis_memory, check_service_memory, check_images, check_prod, check_dev, check_network, check_services,
          check_references, check_stores)


# --- rendering ---------------------------------------------------------------------------------

REPO = None
KUBECTL = shutil.which("kubectl")
OVERLAYS = {}  # name -> Overlay, rendered once by setUpModule


def kustomization_file(directory):
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        if os.path.isfile(os.path.join(directory, name)):
            return os.path.join(directory, name)
    return None


def external_store_ranges(repo):
    """The address ranges the external-stores component's NetworkPolicy patches open, by store."""
    ranges = {}
    for store in STORES:
        path = os.path.join(repo, "deploy", "components", "external-stores", f"{store}-egress.yaml")
        with open(path, encoding="utf-8") as f:
            operations = yaml.safe_load(f) or []
        ranges[store] = [ipaddress.ip_network(peer["ipBlock"]["cidr"], strict=False)
                         for operation in operations
                         for peer in (operation.get("value") or {}).get("to") or []
                         if "ipBlock" in peer]
    return ranges


def render_overlays(repo):
    root = os.path.join(repo, "deploy", "overlays")
    names = sorted(d for d in os.listdir(root) if kustomization_file(os.path.join(root, d)))
    runs = {name: subprocess.Popen([KUBECTL, "kustomize", os.path.join(root, name)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for name in names}  # in parallel: each takes most of a second
    overlays = {}
    for name, run in runs.items():
        stdout, stderr = run.communicate(timeout=120)
        if run.returncode != 0:
            raise AssertionError(f"kubectl kustomize deploy/overlays/{name} failed: {stderr}")
        with open(kustomization_file(os.path.join(root, name)), encoding="utf-8") as f:
            components = (yaml.safe_load(f) or {}).get("components") or []
        external = any(c.rstrip("/").endswith("components/external-stores") for c in components)
        overlays[name] = Overlay(name, [obj for obj in yaml.safe_load_all(stdout) if obj],
                                 external, external_store_ranges(repo) if external else {})
    return overlays


def setUpModule():
    if KUBECTL:
        OVERLAYS.update(render_overlays(REPO))


# Known defects in deploy/ not yet fixed there: (check, overlay) -> the violations it reports
# today, exactly. The overlay tests pass while the violations are exactly these, and fail when one
# is fixed (delete it here) or a new one appears. None today.
KNOWN_DEFECTS = {}


class NeedsRenderedOverlays(unittest.TestCase):
    def setUp(self):
        if not KUBECTL:
            self.skipTest("kubectl not found, so deploy/overlays cannot be rendered")


class RenderedOverlaysTest(NeedsRenderedOverlays):
    """Every overlay, rendered, passes every check."""

    def test_overlays_cover_dev_prod_and_external_stores(self):
        self.assertLessEqual({"dev", "prod"}, set(OVERLAYS))
        self.assertTrue(any(o.external_stores for o in OVERLAYS.values()),
                        "no overlay uses components/external-stores")
        self.assertTrue(any(of_kind(o.objs, "NetworkPolicy") for o in OVERLAYS.values()))

    def _assert_clean(self, check):
        for name, overlay in sorted(OVERLAYS.items()):
            with self.subTest(overlay=name):
                known = KNOWN_DEFECTS.get((check.__name__, name), [])
                self.assertEqual(sorted(check(overlay)), sorted(known),
                                 "KNOWN_DEFECTS lists violations the manifests should lose; "
                                 "if they are fixed, delete their entry" if known else None)

    def test_pod_security_restricted(self):
        self._assert_clean(check_pod_security)

    def test_everything_in_the_restricted_namespace(self):
        self._assert_clean(check_namespaces)

    def test_probes(self):
        self._assert_clean(check_probes)

    def test_grace_period_outlasts_drain(self):
        self._assert_clean(check_drain)

    def test_resources(self):
        self._assert_clean(check_resources)

    def test_redis_memory_limit_holds_a_full_redis(self):
        self._assert_clean(check_redis_memory)

    def test_service_memory_limit_holds_its_own_bounds(self):
        self._assert_clean(check_service_memory)

    def test_images_pinned(self):
        self._assert_clean(check_images)

    def test_prod(self):
        self._assert_clean(check_prod)

    def test_dev(self):
        self._assert_clean(check_dev)

    def test_network_policies_allow_exactly_the_needed_traffic(self):
        self._assert_clean(check_network)

    def test_services(self):
        self._assert_clean(check_services)

    def test_references(self):
        self._assert_clean(check_references)

    def test_store_addresses(self):
        self._assert_clean(check_stores)


# --- the checks bite ---------------------------------------------------------------------------


def find(objs, kind, name):
    for obj in objs:
        if obj.get("kind") == kind and (obj.get("metadata") or {}).get("name") == name:
            return obj
    raise KeyError(f"{kind}/{name} is not rendered")


def pod_spec(objs, workload):
    return find(objs, *workload)["spec"]["template"]["spec"]


def container(objs, workload):
    return pod_spec(objs, workload)["containers"][0]


def env(objs, workload, name, value):
    """Sets (value not None) or removes env var `name` of the workload's first container."""
    variables = [v for v in container(objs, workload).get("env") or [] if v["name"] != name]
    container(objs, workload)["env"] = variables + ([{"name": name, "value": value}]
                                                    if value is not None else [])


def remove(objs, kind, name):
    objs.remove(find(objs, kind, name))


def rule(objs, policy, direction, index):
    return find(objs, "NetworkPolicy", policy)["spec"][direction][index]


CONTENT = ("Deployment", "content-service")
ANALYTICS = ("Deployment", "analytics-service")
REDIS = ("StatefulSet", "redis")
POSTGRES = ("StatefulSet", "postgres")
NO_PODS = {"podSelector": {"matchLabels": {"tier": "none"}}}


def context(objs, workload):
    return container(objs, workload)["securityContext"]


def pod_context(objs, workload):
    return pod_spec(objs, workload)["securityContext"]


def resources(objs, workload, kind):
    return container(objs, workload)["resources"][kind]


def redis_conf(objs, edit):
    """Applies `edit` to the text of every rendered redis.conf."""
    for config in of_kind(objs, "ConfigMap"):
        data = config.get("data") or {}
        if "redis.conf" in data:
            data["redis.conf"] = edit(data["redis.conf"])


def add_init_container(objs, workload, **fields):
    pod_spec(objs, workload).setdefault("initContainers", []).append({"name": "migrate", **fields})


# (overlay, check, text one of its violations must contain, the break). Each row breaks one
# thing in a copy of a rendered overlay.
BREAKS = [
    # 1. Pod Security Standard
    ("prod", check_pod_security, "container content-service: allowPrivilegeEscalation",
     lambda o: context(o, CONTENT).update(allowPrivilegeEscalation=True)),
    ("prod", check_pod_security, "StatefulSet/redis container redis: runAsNonRoot",
     lambda o: pod_context(o, REDIS).pop("runAsNonRoot")),
    ("prod", check_pod_security, "container analytics-service: runAsNonRoot",
     lambda o: context(o, ANALYTICS).update(runAsNonRoot=False)),
    ("prod", check_pod_security, "container analytics-service: runAsUser is 0",
     lambda o: context(o, ANALYTICS).update(runAsUser=0)),
    ("dev", check_pod_security, "container postgres: runAsUser is None",
     lambda o: pod_context(o, POSTGRES).pop("runAsUser")),
    ("prod", check_pod_security, "capabilities add SYS_ADMIN",
     lambda o: context(o, ANALYTICS)["capabilities"].update(add=["SYS_ADMIN"])),
    ("prod", check_pod_security, "container postgres: capabilities do not drop ALL",
     lambda o: context(o, POSTGRES)["capabilities"].update(drop=["NET_RAW"])),
    ("prod", check_pod_security, "seccompProfile type is 'Unconfined'",
     lambda o: context(o, CONTENT).update(seccompProfile={"type": "Unconfined"})),
    ("prod", check_pod_security, "container redis: seccompProfile type is None",
     lambda o: pod_context(o, REDIS).pop("seccompProfile")),
    ("prod", check_pod_security, "Deployment/content-service: hostNetwork",
     lambda o: pod_spec(o, CONTENT).update(hostNetwork=True)),
    ("dev", check_pod_security, "Deployment/analytics-service: hostPID",
     lambda o: pod_spec(o, ANALYTICS).update(hostPID=True)),
    ("dev", check_pod_security, "Deployment/analytics-service: hostIPC",
     lambda o: pod_spec(o, ANALYTICS).update(hostIPC=True)),
    ("prod", check_pod_security, "volume host is hostPath",
     lambda o: pod_spec(o, CONTENT)["volumes"].append({"name": "host", "hostPath": {"path": "/"}})),
    ("prod", check_pod_security, "volume share is nfs",
     lambda o: pod_spec(o, REDIS)["volumes"].append({"name": "share", "nfs": {"path": "/"}})),
    ("prod", check_pod_security, "container redis: hostPort 6379",
     lambda o: container(o, REDIS)["ports"][0].update(hostPort=6379)),
    ("prod", check_pod_security, "container postgres: privileged",
     lambda o: context(o, POSTGRES).update(privileged=True)),
    ("prod", check_pod_security, "container content-service: readOnlyRootFilesystem",
     lambda o: context(o, CONTENT).update(readOnlyRootFilesystem=False)),
    ("prod", check_pod_security, "Deployment/analytics-service: automountServiceAccountToken",
     lambda o: pod_spec(o, ANALYTICS).pop("automountServiceAccountToken")),
    ("prod", check_pod_security, "enforce is 'baseline'",
     lambda o: labels_of(find(o, "Namespace", "newsroom")).update(
         {"pod-security.kubernetes.io/enforce": "baseline"})),
    ("prod", check_pod_security, "initContainer migrate: allowPrivilegeEscalation",
     lambda o: add_init_container(o, CONTENT, image="busybox:1.36")),
    ("prod", check_pod_security, "sysctl kernel.msgmax",
     lambda o: pod_context(o, CONTENT).update(sysctls=[{"name": "kernel.msgmax", "value": "1"}])),
    ("dev", check_namespaces, "Service/redis: no namespace",
     lambda o: find(o, "Service", "redis")["metadata"].pop("namespace")),
    ("dev", check_namespaces, "Deployment/content-service: in namespace default, not in newsroom",
     lambda o: find(o, *CONTENT)["metadata"].update(namespace="default")),
    # 2. probes
    ("prod", check_probes, "readinessProbe probes port 50051",
     lambda o: container(o, CONTENT)["readinessProbe"]["grpc"].update(port=50051)),
    ("prod", check_probes, "livenessProbe asks for service '', want 'liveness'",
     lambda o: container(o, ANALYTICS)["livenessProbe"]["grpc"].pop("service")),
    ("prod", check_probes, "startupProbe asks for service 'ready'",
     lambda o: container(o, CONTENT)["startupProbe"]["grpc"].update(service="ready")),
    ("prod", check_probes, "readinessProbe asks for service 'liveness', want ''",
     lambda o: container(o, CONTENT)["readinessProbe"]["grpc"].update(service="liveness")),
    ("dev", check_probes, "container analytics-service: no startupProbe",
     lambda o: container(o, ANALYTICS).pop("startupProbe")),
    ("prod", check_probes, "livenessProbe is ['tcpSocket'], want grpc:",
     lambda o: container(o, CONTENT).update(livenessProbe={"tcpSocket": {"port": "health"}})),
    ("prod", check_probes, "no container port named health",
     lambda o: container(o, CONTENT)["ports"][1].update(name="healthz")),
    ("prod", check_probes, "container redis: no livenessProbe",
     lambda o: container(o, REDIS).pop("livenessProbe")),
    ("prod", check_probes, "container postgres: no readinessProbe",
     lambda o: container(o, POSTGRES).pop("readinessProbe")),
    ("prod", check_probes, "readinessProbe names port client",
     lambda o: container(o, REDIS)["readinessProbe"]["tcpSocket"].update(port="client")),
    # 3. drain
    ("prod", check_drain, "Seconds 30 is less than the preStop pause (5s) + CONTENT_SHUTDOWN_DRAIN "
     "(1m)", lambda o: env(o, CONTENT, "CONTENT_SHUTDOWN_DRAIN", "1m")),
    ("prod", check_drain, "(5s) + ANALYTICS_SHUTDOWN_DRAIN (20.5s)",
     lambda o: env(o, ANALYTICS, "ANALYTICS_SHUTDOWN_DRAIN", "20.5s")),
    ("dev", check_drain, "Seconds 19 is less than the preStop pause (5s) + "
     "ANALYTICS_SHUTDOWN_DRAIN (10s)",  # the default
     lambda o: (env(o, ANALYTICS, "ANALYTICS_SHUTDOWN_DRAIN", None),
                pod_spec(o, ANALYTICS).update(terminationGracePeriodSeconds=19))),
    ("prod", check_drain, "CONTENT_SHUTDOWN_DRAIN: '10 seconds' is not a duration",
     lambda o: env(o, CONTENT, "CONTENT_SHUTDOWN_DRAIN", "10 seconds")),
    ("prod", check_drain, "Seconds 30 is less than the preStop pause (5s) + CONTENT_SHUTDOWN_DRAIN "
     "(1m)",  # Kubernetes' 30
     lambda o: (env(o, CONTENT, "CONTENT_SHUTDOWN_DRAIN", "1m"),
                pod_spec(o, CONTENT).pop("terminationGracePeriodSeconds"))),
    ("prod", check_drain, "CONTENT_SHUTDOWN_DRAIN (14s) + 7s after it",
     lambda o: env(o, CONTENT, "CONTENT_SHUTDOWN_DRAIN", "14s")),
    ("prod", check_drain, "container content-service: no preStop pause",
     lambda o: container(o, CONTENT).pop("lifecycle")),
    ("dev", check_drain, "container analytics-service: preStop {'httpGet'",
     lambda o: container(o, ANALYTICS).update(
         lifecycle={"preStop": {"httpGet": {"path": "/quit", "port": 50062}}})),
    ("prod", check_drain, "Seconds 30 is less than the preStop pause (16s)",
     lambda o: container(o, ANALYTICS)["lifecycle"]["preStop"]["exec"].update(
         command=["sleep", "16"])),
    # 4. resources
    ("prod", check_resources, "container redis: no memory limit",
     lambda o: resources(o, REDIS, "limits").pop("memory")),
    ("dev", check_resources, "container analytics-service: no cpu request",
     lambda o: resources(o, ANALYTICS, "requests").pop("cpu")),
    ("prod", check_resources, "container content-service: no cpu limit",
     lambda o: resources(o, CONTENT, "limits").pop("cpu")),
    ("prod", check_resources, "memory request 2Gi > limit 1Gi",
     lambda o: resources(o, POSTGRES, "requests").update(memory="2Gi")),
    ("dev", check_resources, "cpu request 600m > limit 500m",
     lambda o: resources(o, CONTENT, "requests").update(cpu="600m")),
    ("prod", check_resources, "'12 cores' is not a Kubernetes quantity",
     lambda o: resources(o, CONTENT, "requests").update(cpu="12 cores")),
    ("prod", check_service_memory, "Deployment/content-service container content-service: memory "
     "limit 255Mi is under what the service's own bounds let it hold (256 MiB",
     lambda o: resources(o, CONTENT, "limits").update(memory="255Mi")),
    ("dev", check_service_memory, "Deployment/content-service container content-service: memory "
     "limit 256Mi is under what the service's own bounds let it hold (320 MiB",
     lambda o: env(o, CONTENT, RESPONSE_BOUND_ENV, str(128 * 2**20))),
    ("prod", check_service_memory, "Deployment/analytics-service container analytics-service: "
     "memory limit 128Mi is under", lambda o: resources(o, ANALYTICS, "limits").update(
         memory="128Mi")),
    ("prod", check_redis_memory, "memory limit 512Mi is under twice maxmemory",
     lambda o: resources(o, REDIS, "limits").update(memory="512Mi")),
    ("dev", check_redis_memory, "memory limit 768Mi is under twice maxmemory (419430400 bytes)",
     lambda o: redis_conf(o, lambda conf: conf.replace("maxmemory 384mb", "maxmemory 400mb"))),
    ("dev", check_redis_memory, "redis.conf sets no usable maxmemory",
     lambda o: redis_conf(o, lambda conf: conf.replace("maxmemory 384mb", "maxmemory lots"))),
    ("prod", check_resources, "initContainer migrate: no memory limit",
     lambda o: add_init_container(o, ANALYTICS, image="busybox:1.36",
                                  resources={"requests": {"cpu": "1m", "memory": "1Mi"}})),
    # 5. images
    ("prod", check_images, "image 'redis' has no tag",
     lambda o: container(o, REDIS).update(image="redis")),
    ("prod", check_images, "uses the tag latest",
     lambda o: container(o, POSTGRES).update(image="postgres:latest")),
    ("prod", check_images, "image 'registry.local:5000/newsroom/content-service' has no tag",
     lambda o: container(o, CONTENT).update(image="registry.local:5000/newsroom/content-service")),
    ("dev", check_images, "initContainer migrate: image 'busybox' has no tag",
     lambda o: add_init_container(o, CONTENT, image="busybox")),
    # 6. prod and dev
    ("prod", check_prod, "0 HorizontalPodAutoscalers target Deployment/content-service",
     lambda o: remove(o, "HorizontalPodAutoscaler", "content-service")),
    ("prod", check_prod, "minReplicas 2, want >= 3",
     lambda o: find(o, "HorizontalPodAutoscaler", "content-service")["spec"].update(minReplicas=2)),
    ("prod", check_prod, "apiVersion autoscaling/v1, want autoscaling/v2",
     lambda o: find(o, "HorizontalPodAutoscaler", "content-service").update(
         apiVersion="autoscaling/v1")),
    ("prod", check_prod, "Deployment/content-service: sets replicas (3)",
     lambda o: find(o, *CONTENT)["spec"].update(replicas=3)),
    ("prod", check_prod, "Deployment/analytics-service: replicas 3, want 2",
     lambda o: find(o, *ANALYTICS)["spec"].update(replicas=3)),
    ("prod", check_prod, "no PodDisruptionBudget selects analytics-service's pods",
     lambda o: find(o, "PodDisruptionBudget", "analytics-service")["spec"]["selector"].update(
         matchLabels={NAME_LABEL: "analytics"})),
    ("prod", check_prod, "at content-service's 3 pods no pod can be evicted",
     lambda o: find(o, "PodDisruptionBudget", "content-service")["spec"].update(minAvailable=3)),
    ("prod", check_prod, "PodDisruptionBudget/analytics-service: unhealthyPodEvictionPolicy is "
     "not AlwaysAllow", lambda o: find(o, "PodDisruptionBudget", "analytics-service")["spec"].pop(
         "unhealthyPodEvictionPolicy")),
    ("prod", check_prod, "at analytics-service's 2 pods no pod can be evicted",
     lambda o: find(o, "PodDisruptionBudget", "analytics-service")["spec"].update(
         minAvailable="100%")),
    ("prod", check_prod, "Deployment/content-service: no topologySpreadConstraint over kubernetes",
     lambda o: pod_spec(o, CONTENT)["topologySpreadConstraints"].pop(0)),
    ("prod", check_prod, "Deployment/analytics-service: no topologySpreadConstraint",
     lambda o: pod_spec(o, ANALYTICS)["topologySpreadConstraints"][0]["labelSelector"].update(
         matchLabels={NAME_LABEL: "content-service"})),
    ("prod", check_prod, "prod renders no NetworkPolicies",
     lambda o: o.__setitem__(slice(None), [x for x in o if x.get("kind") != "NetworkPolicy"])),
    ("dev", check_dev, "dev renders NetworkPolicy/default-deny",
     lambda o: o.append({"kind": "NetworkPolicy", "metadata": {"name": "default-deny"}})),
    ("dev", check_dev, "Deployment/analytics-service: replicas 2, want 1",
     lambda o: find(o, *ANALYTICS)["spec"].update(replicas=2)),
    ("dev", check_dev, "StatefulSet/redis: replicas 3, want 1",
     lambda o: find(o, *REDIS)["spec"].update(replicas=3)),
    # 8. Services, references, addresses
    ("prod", check_services, "Service/redis: unnamed port 6379",
     lambda o: find(o, "Service", "redis")["spec"]["ports"][0].pop("name")),
    ("dev", check_services, "Service/content-service: no port named grpc",
     lambda o: find(o, "Service", "content-service")["spec"]["ports"][0].update(name="https")),
    ("prod", check_services, "Service/postgres: selector {'app.kubernetes.io/name': 'postgresql'} "
     "selects no pod template",
     lambda o: find(o, "Service", "postgres")["spec"].update(selector={NAME_LABEL: "postgresql"})),
    ("prod", check_services, "Service/analytics-service: targetPort grpcs is no container port",
     lambda o: find(o, "Service", "analytics-service")["spec"]["ports"][0].update(
         targetPort="grpcs")),
    ("prod", check_services, "Service/analytics-service: headless, so clients dial the pods on "
     "port 50053",
     lambda o: find(o, "Service", "analytics-service")["spec"]["ports"][0].update(port=50053)),
    ("prod", check_references, "Deployment/content-service: ServiceAccount content is not rendered",
     lambda o: pod_spec(o, CONTENT).update(serviceAccountName="content")),
    ("prod-external-stores", check_references, "ConfigMap redis-config is not rendered",
     lambda o: pod_spec(o, ANALYTICS)["volumes"].append(
         {"name": "c", "configMap": {"name": "redis-config"}})),
    ("prod-external-stores", check_stores, "REDIS_ADDR redis:6379 names an in-cluster host",
     lambda o: env(o, ANALYTICS, "REDIS_ADDR", "redis:6379")),
    ("prod-external-stores", check_stores, "CONTENT_DB postgresql://db.example.internal:6432/n: "
     "port 6432, but the NetworkPolicies open 5432",
     lambda o: env(o, CONTENT, "CONTENT_DB", "postgresql://db.example.internal:6432/n")),
    ("prod-external-stores", check_stores, "Service/redis: left behind by the in-cluster redis",
     lambda o: o.append({"kind": "Service",
                         "metadata": {"name": "redis", "namespace": "newsroom"}})),
    ("prod", check_stores, "ANALYTICS_ADDR analytics:50052 is not the rendered Service analytics-",
     lambda o: env(o, CONTENT, "ANALYTICS_ADDR", "analytics:50052")),
    ("prod", check_stores, "REDIS_ADDR redis:6380: Service redis has no port 6380",
     lambda o: env(o, ANALYTICS, "REDIS_ADDR", "redis:6380")),
    ("prod", check_stores, "0 pod templates for redis, want 1",
     lambda o: remove(o, *REDIS)),
    # 7. NetworkPolicies
    ("prod", check_network, "allowed but not needed: redis -> outside 203.0.113.50:443/TCP",
     lambda o: (remove(o, "NetworkPolicy", "default-deny"),
                remove(o, "NetworkPolicy", "allow-dns-egress"))),
    ("prod", check_network, "allowed but not needed: outside 203.0.113.50 -> redis:6379/TCP",
     lambda o: (remove(o, "NetworkPolicy", "default-deny"), remove(o, "NetworkPolicy", "redis"))),
    ("prod", check_network, "not needed: outside 203.0.113.50 -> content-service:50061/TCP",
     lambda o: rule(o, "content-service", "ingress", 0).pop("ports")),
    ("prod", check_network, "not needed: client in another namespace -> content-service:50061/TCP",
     lambda o: rule(o, "content-service", "ingress", 0)["ports"].append({"port": "health"})),
    ("prod", check_network, "not needed: analytics-service -> outside 203.0.113.50:6379/TCP",
     lambda o: rule(o, "analytics-service", "egress", 0).pop("to")),
    # The metrics ports: Prometheus's pods in `monitoring` only, not the namespace's other pods,
    # nor Prometheus-labelled pods elsewhere, and no more than the metrics port.
    ("prod", check_network, "not needed: other pod in monitoring -> content-service:50071/TCP",
     lambda o: rule(o, "metrics-from-prometheus", "ingress", 0)["from"][0].pop("podSelector")),
    ("prod", check_network,
     "not needed: prometheus in monitoring -> analytics-service:50062/TCP",
     lambda o: rule(o, "metrics-from-prometheus", "ingress", 0)["ports"].append(
         {"port": "health"})),
    ("prod", check_network, "needed but denied: prometheus in monitoring -> analytics-service:50072",
     lambda o: rule(o, "metrics-from-prometheus", "ingress", 0)["from"][0][
         "namespaceSelector"]["matchLabels"].update({"kubernetes.io/metadata.name": "observability"})),
    ("prod", check_network, "not needed: client in another namespace -> analytics-service:50052",
     lambda o: rule(o, "analytics-service", "ingress", 0)["from"].append(
         {"namespaceSelector": {}})),
    # Both ends must open for a flow: content-service's egress by matchExpressions, Redis's
    # ingress by another label.
    ("prod", check_network, "allowed but not needed: content-service -> redis:6379/TCP",
     lambda o: (rule(o, "content-service", "egress", 1)["to"][0].update(podSelector={
         "matchExpressions": [{"key": NAME_LABEL, "operator": "In",
                               "values": ["postgres", "redis"]}]}),
         rule(o, "content-service", "egress", 1)["ports"].append({"port": 6379}),
         rule(o, "redis", "ingress", 0)["from"].append(
             {"podSelector": {"matchLabels": {"app.kubernetes.io/component": "api"}}}))),
    ("prod", check_network, "needed but denied: content-service -> outside 203.0.113.50:53/TCP",
     lambda o: rule(o, "allow-dns-egress", "egress", 0)["ports"].pop()),
    ("prod", check_network, "needed but denied: content-service -> postgres:5432/TCP",
     lambda o: rule(o, "postgres", "ingress", 0)["ports"][0].update(port=5433)),
    ("prod", check_network, "needed but denied: content-service -> analytics-service:50052/TCP",
     lambda o: rule(o, "analytics-service", "ingress", 0)["ports"][0].update(protocol="UDP")),
    ("prod", check_network, "redis: selected by no NetworkPolicy",
     lambda o: (remove(o, "NetworkPolicy", "redis"),
                find(o, "NetworkPolicy", "default-deny")["spec"].update(NO_PODS),
                find(o, "NetworkPolicy", "allow-dns-egress")["spec"].update(NO_PODS))),
    ("prod-external-stores", check_network,
     "allowed but not needed: analytics-service -> outside 203.0.113.50:6379/TCP",
     lambda o: rule(o, "analytics-service", "egress", 0)["to"][0]["ipBlock"].update(
         cidr="0.0.0.0/0")),
    ("prod-external-stores", check_network,
     "needed but denied: content-service -> outside 192.0.2.1:5432/TCP",
     lambda o: rule(o, "content-service", "egress", 1)["ports"][0].update(port=6379)),
    ("prod-external-stores", check_network,
     "allowed but not needed: content-service -> outside 192.0.2.1:6379/TCP",
     lambda o: rule(o, "content-service", "egress", 1)["ports"].append({"port": 6379})),
]

# Changes that must NOT be reported: each rule holds where it says, and no further.
HARMLESS = [
    ("dev", check_resources, lambda o: resources(o, CONTENT, "limits").pop("cpu")),
    ("prod", check_redis_memory, lambda o: resources(o, REDIS, "limits").update(memory="1Gi")),
    ("dev", check_drain,  # the pause, the default 10s, + 5s
     lambda o: (env(o, ANALYTICS, "ANALYTICS_SHUTDOWN_DRAIN", None),
                pod_spec(o, ANALYTICS).update(terminationGracePeriodSeconds=20))),
    ("prod", check_drain,  # Kubernetes' own sleep action (1.30+) is a pause too
     lambda o: container(o, CONTENT)["lifecycle"].update(preStop={"sleep": {"seconds": 5}})),
    ("prod", check_drain, lambda o: env(o, CONTENT, "CONTENT_SHUTDOWN_DRAIN", "13s")),
    ("prod", check_images, lambda o: container(o, REDIS).update(image="redis@sha256:" + "ab" * 32)),
    ("prod", check_images,
     lambda o: container(o, CONTENT).update(image="registry.local:5000/content-service:0.2.0")),
    ("prod", check_pod_security, lambda o: context(o, REDIS).update(
        capabilities={"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]})),
    ("prod", check_pod_security, lambda o: context(o, REDIS).update(
        seccompProfile={"type": "Localhost", "localhostProfile": "redis.json"})),
    # A named port, and a namespaceSelector naming Newsroom's own namespace, change no flow.
    ("prod", check_network,
     lambda o: rule(o, "content-service", "egress", 1)["ports"][0].update(port="postgres")),
    ("prod", check_network, lambda o: rule(o, "analytics-service", "ingress", 0)["from"][0].update(
        namespaceSelector={"matchLabels": {"kubernetes.io/metadata.name": "newsroom"}})),
    # Every pod has its own ingress policy and allow-dns-egress isolates every pod's egress, so
    # default-deny is (today) a backstop that changes no flow.
    ("prod", check_network, lambda o: remove(o, "NetworkPolicy", "default-deny")),
    # Letting any pod into Redis opens nothing while only analytics-service may send there.
    ("prod", check_network, lambda o: rule(o, "redis", "ingress", 0)["from"][0].update(
        podSelector={})),
]


class ChecksBiteTest(NeedsRenderedOverlays):
    """Each check reports a rendered overlay with one thing broken; harmless changes pass."""

    def test_each_break_is_reported(self):
        for overlay_name, check, expected, breaks in BREAKS:
            with self.subTest(overlay=overlay_name, check=check.__name__, expected=expected):
                overlay = OVERLAYS[overlay_name]
                objs = copy.deepcopy(overlay.objs)
                breaks(objs)
                violations = check(overlay._replace(objs=objs))
                self.assertTrue(any(expected in v for v in violations),
                                f"{expected!r} not among {violations}")

    def test_every_check_is_broken_at_least_once(self):
        self.assertEqual({check for _, check, _, _ in BREAKS}, set(CHECKS))

    def test_harmless_changes_pass(self):
        for overlay_name, check, change in HARMLESS:
            with self.subTest(overlay=overlay_name, check=check.__name__):
                overlay = OVERLAYS[overlay_name]
                objs = copy.deepcopy(overlay.objs)
                change(objs)
                self.assertEqual(check(overlay._replace(objs=objs)), [])


class NetworkPolicyEvaluatorTest(unittest.TestCase):
    """The evaluator against the NetworkPolicy semantics, on hand-written policies."""

    WEB = Endpoint("web", "app", {"role": "web", "tier": "front"}, (("http", 8080, "TCP"),))
    DB = Endpoint("db", "app", {"role": "db"}, (("sql", 5432, "TCP"),))
    OTHER = Endpoint("other", "else", {"role": "web"}, (("http", 8080, "TCP"),))
    WORLD = Endpoint("world", ip="198.51.100.7")
    NAMESPACES = {"app": {"team": "a"}, "else": {"team": "b"}}

    @staticmethod
    def policy(spec, namespace="app"):
        return {"kind": "NetworkPolicy", "metadata": {"name": "p", "namespace": namespace},
                "spec": spec}

    def evaluator(self, *specs):
        return NetworkPolicies([self.policy(s) for s in specs], self.NAMESPACES)

    def test_no_policy_allows_everything(self):
        evaluator = self.evaluator()
        self.assertTrue(evaluator.allows(self.WEB, self.DB, 5432, "TCP"))
        self.assertTrue(evaluator.allows(self.WORLD, self.DB, 1, "UDP"))

    def test_empty_pod_selector_isolates_every_pod_in_its_namespace_only(self):
        evaluator = self.evaluator({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
        self.assertFalse(evaluator.allows(self.WEB, self.DB, 5432, "TCP"))
        self.assertFalse(evaluator.allows(self.OTHER, self.DB, 5432, "TCP"))
        self.assertFalse(evaluator.allows(self.WEB, self.OTHER, 8080, "TCP"))
        self.assertEqual(evaluator.selecting(self.OTHER), [])

    def test_policy_types_default_to_ingress_plus_egress_when_it_has_egress_rules(self):
        self.assertEqual(policy_types({"podSelector": {}}), {"Ingress"})
        self.assertEqual(policy_types({"egress": [{}]}), {"Ingress", "Egress"})
        self.assertEqual(policy_types({"egress": []}), {"Ingress"})
        self.assertEqual(policy_types({"policyTypes": ["Egress"], "ingress": [{}]}), {"Egress"})
        # Ingress-only isolation leaves egress open.
        evaluator = self.evaluator({"podSelector": {"matchLabels": {"role": "web"}}})
        self.assertTrue(evaluator.allows(self.WEB, self.WORLD, 443, "TCP"))
        self.assertFalse(evaluator.allows(self.DB, self.WEB, 8080, "TCP"))

    def test_traffic_needs_egress_and_ingress_and_policies_add_up(self):
        egress = {"podSelector": {"matchLabels": {"role": "web"}}, "policyTypes": ["Egress"],
                  "egress": [{"to": [{"podSelector": {"matchLabels": {"role": "db"}}}]}]}
        deny_db = {"podSelector": {"matchLabels": {"role": "db"}}, "policyTypes": ["Ingress"]}
        allow_db = {"podSelector": {"matchLabels": {"role": "db"}},
                    "ingress": [{"from": [{"podSelector": {"matchLabels": {"tier": "front"}}}]}]}
        self.assertTrue(self.evaluator(egress).allows(self.WEB, self.DB, 5432, "TCP"))
        self.assertFalse(self.evaluator(egress, deny_db).allows(self.WEB, self.DB, 5432, "TCP"))
        self.assertTrue(
            self.evaluator(egress, deny_db, allow_db).allows(self.WEB, self.DB, 5432, "TCP"))
        self.assertFalse(self.evaluator(egress).allows(self.WEB, self.WORLD, 443, "TCP"))

    def test_match_expressions(self):
        labels = {"role": "web", "tier": "front"}
        cases = [
            ({"key": "role", "operator": "In", "values": ["web", "api"]}, True),
            ({"key": "role", "operator": "In", "values": ["db"]}, False),
            ({"key": "zone", "operator": "In", "values": ["a"]}, False),
            ({"key": "role", "operator": "NotIn", "values": ["db"]}, True),
            ({"key": "role", "operator": "NotIn", "values": ["web"]}, False),
            ({"key": "zone", "operator": "NotIn", "values": ["a"]}, True),
            ({"key": "tier", "operator": "Exists"}, True),
            ({"key": "zone", "operator": "Exists"}, False),
            ({"key": "zone", "operator": "DoesNotExist"}, True),
            ({"key": "tier", "operator": "DoesNotExist"}, False),
        ]
        for expression, want in cases:
            with self.subTest(expression=expression):
                self.assertEqual(selector_matches({"matchExpressions": [expression]}, labels), want)
        self.assertTrue(selector_matches({}, labels))
        self.assertFalse(selector_matches(None, labels))
        self.assertFalse(selector_matches({"matchLabels": {"role": "web"}, "matchExpressions": [
            {"key": "tier", "operator": "DoesNotExist"}]}, labels))

    def _ingress_to_db(self, peers):
        return self.evaluator({"podSelector": {"matchLabels": {"role": "db"}},
                               "ingress": [{"from": peers}]})

    def test_pod_selector_alone_means_the_policys_namespace(self):
        evaluator = self._ingress_to_db([{"podSelector": {"matchLabels": {"role": "web"}}}])
        self.assertTrue(evaluator.allows(self.WEB, self.DB, 5432, "TCP"))
        self.assertFalse(evaluator.allows(self.OTHER, self.DB, 5432, "TCP"))
        self.assertFalse(evaluator.allows(self.WORLD, self.DB, 5432, "TCP"))

    def test_namespace_selector_alone_means_every_pod_there(self):
        evaluator = self._ingress_to_db([{"namespaceSelector": {"matchLabels": {"team": "b"}}}])
        self.assertTrue(evaluator.allows(self.OTHER, self.DB, 5432, "TCP"))
        self.assertFalse(evaluator.allows(self.WEB, self.DB, 5432, "TCP"))
        by_name = self._ingress_to_db(
            [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "else"}}}])
        self.assertTrue(by_name.allows(self.OTHER, self.DB, 5432, "TCP"))

    def test_selectors_in_one_peer_are_anded_and_peers_ored(self):
        anded = self._ingress_to_db([{"namespaceSelector": {},
                                      "podSelector": {"matchLabels": {"tier": "front"}}}])
        self.assertTrue(anded.allows(self.WEB, self.DB, 5432, "TCP"))
        self.assertFalse(anded.allows(self.OTHER, self.DB, 5432, "TCP"))  # no tier label
        ored = self._ingress_to_db([{"namespaceSelector": {"matchLabels": {"team": "b"}}},
                                    {"podSelector": {"matchLabels": {"tier": "front"}}}])
        self.assertTrue(ored.allows(self.WEB, self.DB, 5432, "TCP"))
        self.assertTrue(ored.allows(self.OTHER, self.DB, 5432, "TCP"))

    def test_ip_block_with_except_matches_outside_addresses_only(self):
        evaluator = self._ingress_to_db([{"ipBlock": {"cidr": "198.51.100.0/24",
                                                      "except": ["198.51.100.128/25"]}}])
        self.assertTrue(evaluator.allows(self.WORLD, self.DB, 5432, "TCP"))
        excepted = Endpoint("excepted", ip="198.51.100.200")
        self.assertFalse(evaluator.allows(excepted, self.DB, 5432, "TCP"))
        self.assertFalse(evaluator.allows(Endpoint("far", ip="192.0.2.1"), self.DB, 5432, "TCP"))
        self.assertFalse(evaluator.allows(self.WEB, self.DB, 5432, "TCP"))
        self.assertEqual(representative_address("198.51.100.0/24", ["198.51.100.0/31"]),
                         "198.51.100.2")

    def test_empty_or_absent_peers_and_ports_mean_all(self):
        for rule in ({}, {"from": []}, {"from": [], "ports": []}):
            with self.subTest(rule=rule):
                evaluator = self.evaluator({"podSelector": {}, "ingress": [rule]})
                self.assertTrue(evaluator.allows(self.WORLD, self.DB, 5432, "TCP"))
                self.assertTrue(evaluator.allows(self.OTHER, self.WEB, 9, "SCTP"))
        nothing = self.evaluator({"podSelector": {}, "ingress": []})
        self.assertFalse(nothing.allows(self.WORLD, self.DB, 5432, "TCP"))

    def test_ports_by_number_range_name_and_protocol(self):
        def allows(ports, port, protocol="TCP", destination=self.DB):
            evaluator = self.evaluator({"podSelector": {}, "ingress": [{"ports": ports}]})
            return evaluator.allows(self.WORLD, destination, port, protocol)

        self.assertTrue(allows([{"port": 5432}], 5432))
        self.assertFalse(allows([{"port": 5432}], 5432, "UDP"))  # protocol defaults to TCP
        self.assertTrue(allows([{"port": 53, "protocol": "UDP"}], 53, "UDP"))
        self.assertTrue(allows([{"port": 5000, "endPort": 6000}], 5432))
        self.assertFalse(allows([{"port": 5000, "endPort": 6000}], 6001))
        self.assertTrue(allows([{"protocol": "TCP"}], 1))  # no port: every port
        self.assertTrue(allows([{"port": "sql"}], 5432))  # the destination's named port
        self.assertFalse(allows([{"port": "sql"}], 8080, destination=self.WEB))
        self.assertFalse(allows([{"port": "http"}], 5432))

    def test_egress_named_port_resolves_on_the_destination(self):
        evaluator = self.evaluator({"podSelector": {"matchLabels": {"role": "web"}},
                                    "policyTypes": ["Egress"],
                                    "egress": [{"ports": [{"port": "sql"}]}]})
        self.assertTrue(evaluator.allows(self.WEB, self.DB, 5432, "TCP"))
        self.assertFalse(evaluator.allows(self.WEB, self.WORLD, 5432, "TCP"))

    def test_matrix_and_expectations_on_a_tiny_namespace(self):
        pods = [Endpoint("content-service", "app", {"n": "c"}, (("grpc", 50051, "TCP"),)),
                Endpoint("analytics-service", "app", {"n": "a"}, (("grpc", 50052, "TCP"),))]
        outside = [Endpoint("outside 192.0.2.1", ip="192.0.2.1")]
        policies = [self.policy({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
                    self.policy({"podSelector": {"matchLabels": {"n": "c"}},
                                 "ingress": [{"ports": [{"port": 50051}]}]})]
        evaluator = NetworkPolicies(policies, self.NAMESPACES)
        flows = allowed_flows(evaluator, pods, outside, candidate_ports(pods, policies))
        self.assertEqual(flows, {("outside 192.0.2.1", "content-service", 50051, "TCP")})
        expected = expected_flows(pods, outside, {"redis": [ipaddress.ip_network("192.0.2.0/24")]})
        self.assertIn(("analytics-service", "outside 192.0.2.1", 6379, "TCP"), expected)
        self.assertNotIn(("content-service", "outside 192.0.2.1", 5432, "TCP"), expected)


class ParsingTest(unittest.TestCase):
    def test_quantities(self):
        cases = [("250m", Fraction(1, 4)), ("1", 1), (1, 1), (0.5, Fraction(1, 2)), ("2", 2),
                 ("128Mi", 128 * 2**20), ("1Gi", 2**30), ("1G", 10**9), ("500k", 500000),
                 ("1e3", 1000), ("1E", 10**18), ("1.5Gi", 3 * 2**29), ("100n", Fraction(1, 10**7))]
        for text, want in cases:
            with self.subTest(text=text):
                self.assertEqual(parse_quantity(text), want)
        self.assertLess(parse_quantity("1000Mi"), parse_quantity("1Gi"))
        self.assertGreater(parse_quantity("1001m"), parse_quantity("1"))
        for bad in ("", "1 Gi", "Mi", "1mi", "1.2.3", "one", True):
            with self.subTest(bad=bad):
                self.assertRaises(ValueError, parse_quantity, bad)

    def test_redis_sizes(self):
        cases = [("maxmemory 256mb", 256 * 2**20), ("maxmemory 1gb", 2**30), ("maxmemory 1g", 10**9),
                 ("# maxmemory 1gb\nmaxmemory 100", 100), ("MAXMEMORY 2KB", 2048), ("save ''", None),
                 ("maxmemory lots", -1)]
        for text, want in cases:
            with self.subTest(text=text):
                self.assertEqual(redis_maxmemory(text), want)

    def test_durations(self):
        cases = [("10s", 10), ("1m", 60), ("1m30s", 90), ("1.5s", Fraction(3, 2)), ("0", 0),
                 ("500ms", Fraction(1, 2)), ("1h", 3600), ("+2s", 2)]
        for text, want in cases:
            with self.subTest(text=text):
                self.assertEqual(parse_duration(text), want)
        for bad in ("10", "-1s", "inf", "", "10 s", "1d", 10):
            with self.subTest(bad=bad):
                self.assertRaises(ValueError, parse_duration, bad)

    def test_image_references(self):
        pinned = ["redis:7.0.15-bookworm", "newsroom/content-service:0.1.0",
                  "registry.local:5000/newsroom/content-service:0.1.0",
                  "redis@sha256:" + "0" * 64, "redis:7@sha256:" + "f" * 64]
        for image in pinned:
            with self.subTest(image=image):
                self.assertIsNone(image_problem(image))
        unpinned = ["redis", "redis:latest", "registry.local:5000/redis", "redis@sha256:abc", "",
                    None, "redis:"]
        for image in unpinned:
            with self.subTest(image=image):
                self.assertIsNotNone(image_problem(image))

    def test_pod_templates_of_every_kind(self):
        template = {"metadata": {"labels": {NAME_LABEL: "x"}}, "spec": {"containers": []}}
        objs = [{"kind": "Deployment", "spec": {"template": template}},
                {"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": template}}}},
                {"kind": "Pod", **template}, {"kind": "DaemonSet", "spec": {"template": template}},
                {"kind": "Service", "spec": {}}]
        self.assertEqual([w["kind"] for w, _ in pod_templates(objs)],
                         ["Deployment", "CronJob", "Pod", "DaemonSet"])
        spec = {"initContainers": [{"name": "i"}], "containers": [{"name": "c"}]}
        self.assertEqual([where for where, _ in all_containers(spec)],
                         ["initContainer i", "container c"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repo", required=True, help="the Newsroom checkout to render")
    args, rest = parser.parse_known_args()
    global REPO
    REPO = os.path.abspath(args.repo)
    result = unittest.main(argv=[sys.argv[0]] + rest, exit=False).result
    if not result.wasSuccessful():
        return 1
    if not KUBECTL:
        print("k8s_manifests_policy_test: SKIPPED: kubectl is not on PATH, so deploy/overlays "
              "cannot be rendered (install kubectl, which includes kustomize); only the "
              "evaluator and parser tests ran", file=sys.stderr)
        return SKIP_RETURN_CODE
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Shared machinery for bordergate's integration tests.

Every test drives the real `bordergate` binary on loopback against real peers:
a test PKI made with the openssl CLI, Python upstreams that echo what reached
them, curl, `openssl s_client` and raw sockets for what no client would send.
Test files import from here and stay short; see README.md in this folder.
"""
from harness.env import Env, ENV
from harness.pki import TestPKI, Certificate
from harness.ports import free_port
from harness.upstream import EchoUpstream
from harness.gateway import Gateway, GatewayFailed, base_config
from harness.clients import (
    HttpResponse,
    RawConnection,
    curl,
    s_client,
    https_request,
)
from harness.metrics import parse_metrics, metric_sum
from harness.case import GatewayTestCase, main

__all__ = [
    "Env", "ENV", "TestPKI", "Certificate", "free_port", "EchoUpstream",
    "Gateway", "GatewayFailed", "base_config", "HttpResponse", "RawConnection",
    "curl", "s_client", "https_request", "parse_metrics", "metric_sum",
    "GatewayTestCase", "main",
]

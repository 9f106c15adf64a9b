"""Shared fixtures: one in-memory span exporter on the process-wide tracer provider.

OpenTelemetry allows the global provider to be set once per process, so the first
test that needs spans installs an SDK provider (unless another area already did) and
attaches one gated in-memory exporter to it. Spans are collected only while a test
holds the `spans` fixture, so other areas' tests in the same session pay no memory.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


class _GatedProcessor(SpanProcessor):
    """Hands finished spans to the exporter only while a test is collecting."""

    def __init__(self, exporter: InMemorySpanExporter) -> None:
        self.exporter = exporter
        self.active = False

    def on_end(self, span: ReadableSpan) -> None:
        if self.active:
            self.exporter.export((span,))


_processor: _GatedProcessor | None = None


def _shared_processor() -> _GatedProcessor:
    global _processor
    if _processor is None:
        provider = trace.get_tracer_provider()
        if not isinstance(provider, TracerProvider):
            provider = TracerProvider()
            trace.set_tracer_provider(provider)
        _processor = _GatedProcessor(InMemorySpanExporter())
        provider.add_span_processor(_processor)
    return _processor


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    processor = _shared_processor()
    processor.exporter.clear()
    processor.active = True
    yield processor.exporter
    processor.active = False
    processor.exporter.clear()

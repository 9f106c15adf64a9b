"""The descriptor pool that server reflection serves.

Tools that resolve types only from the files reflection hands them for a service
(`buf curl` among them) print error details they do not know as base64. This pool
holds the API's files with `google/rpc/error_details.proto` added to the
dependencies of `smsgateway/v1/smsgateway.proto` (nothing else changes: no field
refers to it), so that asking for the service brings the detail types along
(`BadRequest`, `ErrorInfo`, `RetryInfo`, `QuotaFailure`, ...), next to the API's own
`SendFailure` and the `ErrorReason` file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import FileDescriptor
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2

from smsgateway.v1 import error_reason_pb2, smsgateway_pb2

__all__ = ["reflection_pool"]

_DETAIL_FILES = (error_details_pb2.DESCRIPTOR, status_pb2.DESCRIPTOR)


def reflection_pool(extra: Iterable[FileDescriptor] = ()) -> descriptor_pool.DescriptorPool:
    """A new pool with the API, health, reflection and google.rpc files (plus `extra`);
    the API's file depends on the detail types. Pass it as
    `reflection.enable_server_reflection(names, server, pool=reflection_pool())`."""
    pool = descriptor_pool.DescriptorPool()
    added: set[str] = set()
    for detail in _DETAIL_FILES:
        _add(pool, detail, added)
    api = smsgateway_pb2.DESCRIPTOR
    _add(pool, api, added, extra_dependencies=[d.name for d in _DETAIL_FILES])
    for file in (error_reason_pb2.DESCRIPTOR, health_pb2.DESCRIPTOR, reflection_pb2.DESCRIPTOR):
        _add(pool, file, added)
    for file in extra:
        _add(pool, file, added)
    return pool


def _add(
    pool: descriptor_pool.DescriptorPool,
    file: FileDescriptor,
    added: set[str],
    extra_dependencies: Sequence[str] = (),
) -> None:
    if file.name in added:
        return
    for dependency in file.dependencies:
        _add(pool, dependency, added)
    proto = descriptor_pb2.FileDescriptorProto()
    file.CopyToProto(proto)
    proto.dependency.extend(d for d in extra_dependencies if d not in proto.dependency)
    pool.Add(proto)
    added.add(file.name)

"""A faithful simulator of the provider's HTTP API v1.0, in-process or standalone.

`SandboxProvider` serves the provider's endpoints (and an /admin API) over real HTTP;
see `smsgateway.sandbox.provider` for the code table and the decisions it makes.
"""

from smsgateway.sandbox.config import Faults, SandboxBatch, SandboxConfig
from smsgateway.sandbox.provider import SandboxProvider
from smsgateway.sandbox.standalone import serve_standalone

__all__ = ["Faults", "SandboxBatch", "SandboxConfig", "SandboxProvider", "serve_standalone"]

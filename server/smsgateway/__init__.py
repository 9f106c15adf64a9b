"""smsgateway: a gRPC facade in front of the SMS provider's HTTP API v1.0."""

# `smsgateway.v1` (the generated API code) is another distribution, smsgateway-api:
# look for the rest of this package on every sys.path entry too.
__path__ = __import__("pkgutil").extend_path(__path__, __name__)

__version__ = "0.1.0"

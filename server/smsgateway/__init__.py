"""smsgateway: a gRPC facade in front of the SMS provider's HTTP API v1.0."""

__version__ = "0.1.0"

"""Generated from proto/smsgateway/v1 by `make proto`. Do not edit."""

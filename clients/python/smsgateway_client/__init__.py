"""smsgateway_client."""

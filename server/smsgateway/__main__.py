"""`python -m smsgateway` = the `smsgateway` command."""

from smsgateway.cli import main

raise SystemExit(main())

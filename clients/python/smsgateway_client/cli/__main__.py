"""`python -m smsgateway_client.cli`: the same as `smsctl`."""

from __future__ import annotations

import sys

from . import main

sys.exit(main())

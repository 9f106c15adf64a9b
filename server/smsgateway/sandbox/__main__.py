"""`python -m smsgateway.sandbox`: the standalone sandbox provider."""

import sys

from smsgateway.sandbox.standalone import main

sys.exit(main())

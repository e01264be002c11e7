import sys

from loadgen.webhooks.cli import main

sys.exit(main())

import sys

from loadgen.jr.driver import main

sys.exit(main())

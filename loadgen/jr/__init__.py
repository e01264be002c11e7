"""The JR driver: `python -m loadgen.jr` (`make load`); see `loadgen.jr.driver`."""

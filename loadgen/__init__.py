"""Load generators for the local platform.

- `loadgen.jr`: JR, one process per event type, into the raw Kafka topics (`make load`);
  its templates stay in `jr_templates/`.
- `loadgen.webhooks`: signed Stripe and Square webhooks posted to the gateway
  (`make webhooks`), signed by the gateway's own provider modules.

The gateway never imports this package.
"""

{{ quarantine_staging('quarantine_payments', 'payments', 'provider_event_id') }}

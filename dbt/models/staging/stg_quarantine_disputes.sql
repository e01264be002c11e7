{{ quarantine_staging('quarantine_payment_disputes', 'payment_disputes', 'dispute_id') }}

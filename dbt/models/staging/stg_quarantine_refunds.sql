{{ quarantine_staging('quarantine_payment_refunds', 'payment_refunds', 'refund_id') }}

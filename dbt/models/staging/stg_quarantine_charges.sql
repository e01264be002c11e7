{{ quarantine_staging('quarantine_payment_charges', 'payment_charges', 'charge_id') }}

{{ quarantine_staging('quarantine_payment_subscriptions', 'payment_subscriptions', 'subscription_id') }}

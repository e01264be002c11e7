"""The payment-event rules of contract §4, defined once as data (`rules`) and rendered
into Flink SQL (`flink_sql`) and Python (`python_rules`); `tables` gives their schemas."""

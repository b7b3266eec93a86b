"""The three services of the coins platform; each owns its database and talks only via Kafka."""

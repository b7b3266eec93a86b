"""Kafka for every process: how it is reached (`settings`), its clients configured the one safe way
(`clients`: acks=all producers, manual-commit consumers, the group assignor) and what an operator
asks of the cluster (`admin`: topics, lag).

May import: the core modules and `observability`.
"""

"""The simulated multi-region cloud: DNS authority, regional endpoints, replication."""

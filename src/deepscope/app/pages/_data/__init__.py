"""The Data page's views (Overview, Drift, Anomalies, Dive) and where their data comes from."""

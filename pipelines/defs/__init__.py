"""Stages of the pipeline, one folder each: ingest, post, extract, dbt, models, quality, and the
jobs, schedules and sensors that drive them (automation)."""

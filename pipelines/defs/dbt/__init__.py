"""dbt stage."""

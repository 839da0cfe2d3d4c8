"""automation stage."""

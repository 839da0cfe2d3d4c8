"""stockcard: an inventory stock ledger and analytics warehouse."""

"""Privacy records: they hold no personal data of their own beyond keyed hashes."""

"""The base layer: helpers that know no app (the queue, SQLite write etiquette, bulk SQL, signed tokens,
DKIM). Every app may import it; it imports none of them (import-linter checks this, see pyproject.toml)."""

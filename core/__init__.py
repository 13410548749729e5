"""The base layer: settings and errors, imported by index/, assistant/, ui/ and eval/ alike (it imports none of them)."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    """Hashed, compressed static files once collected. Before collectstatic has run (tests, a
    fresh checkout) fall back to the plain file names instead of failing; `serve` always collects
    first, so production gets hashed names."""

    manifest_strict = False

    def stored_name(self, name: str) -> str:
        try:
            return super().stored_name(name)
        except ValueError:
            return name

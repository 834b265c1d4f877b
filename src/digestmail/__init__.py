"""digestmail: Markdown posts in, one email digest per subscriber out, exactly once."""

__version__ = "0.1.0"

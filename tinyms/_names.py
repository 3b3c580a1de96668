"""Private helper: resolve a user-given name against a table of valid choices."""

from .errors import UnknownNameError


def lookup(table, name, what):
    """Return ``table[name]`` (case-insensitive), or raise UnknownNameError listing valid names."""
    key = str(name).lower().replace("-", "_")
    if key not in table:
        valid = ", ".join(sorted(table))
        raise UnknownNameError(f"unknown {what} {name!r}; valid {what}s are: {valid}")
    return table[key]

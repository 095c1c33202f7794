"""HTTP routes: each parses, calls one function, returns a model."""

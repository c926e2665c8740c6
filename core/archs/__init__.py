"""Network architectures, kept apart from weight loading and from the interpolator backends."""

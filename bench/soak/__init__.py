"""The site under load while its database restarts and its cache goes away."""

"""Self sign-up: a new issuer creates its own tenant from the platform's /signup page."""

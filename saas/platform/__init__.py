"""The platform console at /platform/: operators across every tenant (seat purchases)."""

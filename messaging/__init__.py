"""The core of Sealed: models, policy, crypto, delivery and transports. Knows no HTTP."""

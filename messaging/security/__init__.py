"""Security primitives: encryption at rest, slow hashes, PINs, signed tokens, lockouts, key rotation.

May import only the foundation (db, models, clock, errors, audit). Must not import ``policy``,
``delivery``, ``client``, ``people``, ``rendering`` or any face: everything else builds on these.
"""

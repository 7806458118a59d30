"""The core of Sealed. Knows no HTTP: the faces (console, viewer, api, hooks) call it, never the reverse.

Top level, the foundation every package uses: ``db`` and ``models`` (tables; content columns hold
ciphertext), ``clock`` (the one source of "now"), ``errors`` (what the faces translate), ``audit``,
``events`` (view tracking), ``settings`` (the organisation's Settings row) and ``setting_changes``,
``messages`` (creating outbound messages: decide, render, encrypt, queue) and ``message_reading``
(how staff see a stored message).

Packages, by subject: ``policy`` (secure or standard, and what may be sent), ``rendering``
(template sandbox and the client's text), ``security`` (crypto, hashes, PINs, tokens, lockouts),
``people`` (contacts, users, API keys), ``client`` (links, codes, replies, inbound, threads) and
``delivery`` (engine, pacing, scheduler, transports). Each package's docstring says what it may import.
"""

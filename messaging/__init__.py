"""The core of Sealed. Knows no HTTP: the faces (console, viewer, api, hooks) call it, never the reverse.

Top level, the foundation every package uses: ``db`` and ``models`` (a package of tables by subject,
re-exported; content columns hold ciphertext; ``models.choices`` holds the fixed values such as
channels and modes), ``clock`` (the one source of "now"), ``errors`` (what the faces translate),
``text_rules`` (characters stored text must not hold), ``audit``, ``events`` (view tracking),
``settings`` (the organisation's Settings row) and ``setting_changes``, ``paging`` (pages of a
list). Beside them: ``messages`` (creating outbound messages: decide, render, encrypt, queue) and
``message_reading`` (how staff see a stored message, and the failed and scheduled lists).

Packages, by subject: ``policy`` (secure or standard, and what may be sent), ``rendering``
(template sandbox and the client's text), ``security`` (crypto, hashes, PINs, tokens, lockouts),
``people`` (contacts, users, API keys), ``client`` (links, codes, replies, inbound, threads) and
``delivery`` (engine, pacing, scheduler, transports). Each package's docstring says what it may import.
"""

"""Rendering text: the hardened Jinja sandbox, template source checks, and the text a client receives.

Holds ``outgoing`` (what the client receives per channel: the one rendering behind both the
compose preview and the send), ``text`` (template source checks, ``render_text``, the notice),
``sandbox`` (the bounded Jinja environment) with ``limits`` (its bounds and size arithmetic) and
``filters`` (its checked filters), and ``email_html`` (an e-mail's HTML half from its text).

Pure text in, text out. May import only ``messaging.errors``: no database, no models, no Flask,
so every rule about what a client reads can be tested without an app.
"""

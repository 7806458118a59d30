"""Rendering text: the hardened Jinja sandbox, template source checks, and the text a client receives.

Holds ``outgoing`` (what the client receives per channel: the one rendering behind both the
compose preview and the send), ``text`` (template source checks, ``render_text``, the notice),
``sandbox`` (the bounded Jinja environment) with ``limits`` (its bounds and size arithmetic) and
``filters`` (its checked filters), ``email_html`` (an e-mail's HTML half from its text) and
``language`` (rendering in the contact's language through Flask-Babel's catalogs).

Pure text in, text out. May import only ``messaging.errors``: no database, no models, no Flask
beyond Flask-Babel's ``gettext`` (English without an app), so every rule about what a client
reads can be tested without an app.
"""

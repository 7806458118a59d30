"""Rendering text: the hardened Jinja sandbox, template source checks, and the text a client receives.

Pure text in, text out. May import only ``messaging.errors``: no database, no models, no Flask,
so every rule about what a client reads can be tested without an app.
"""

"""Files on secure messages: checked by content, sealed with the message's key, every read recorded.

``checks`` (type from the bytes, size), ``store`` (add a file to a message), ``listing`` (which files
a thread shows), ``reading`` (open one: an event, and an audit entry for staff).

May import: the top-level modules and ``security``. Must not import any other package or any face.
"""

"""Policy: what may be sent and how — the secure/standard decision, content checks, situations, templates, opt-out.

Holds ``decision`` (the pure ladder), ``content_check`` (protected-data scan of standard text),
``situations`` (the recommendation matrix), ``template_checks`` (what a template's fields may hold),
``templates`` (saving, the policy warnings, deletion), ``link_lifetime`` (how long a secure link
lives) and ``optout`` (STOP/START/HELP and the suppression rule).

May import: the top-level modules (db, models, clock, errors, text_rules, audit, events, settings),
``security``, ``rendering`` and ``people.consent`` (opt-out writes the ledger). Must not import
``delivery``, ``client``, the rest of ``people`` or any face
(console, viewer, api, hooks); decisions are pure functions fed by queries.
"""

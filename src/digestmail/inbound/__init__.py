"""Where returned mail is read from: a local Maildir or an IMAP folder, behind one protocol.

The inbound twin of ``deliver/transports``: one file per kind of mailbox, each handing out
messages as bytes and moving a handled one aside (never deleting it), so ``app/inbox`` sorts
mail without knowing where it lives.
"""

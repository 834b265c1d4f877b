"""``digestmail inbox``: bounces and unsubscribe replies become suppressions.

- :mod:`.reading`: what a returned message says (DSN fields, quoted Message-IDs, status codes);
- :mod:`.classify`: what kind of message it is (hard or soft bounce, unsubscribe, auto-reply);
- :mod:`.match`: which of our deliveries a bounce is about (VERP token, Message-ID, address);
- :mod:`.process`: the use case: read every message once, act, remember, move.
"""

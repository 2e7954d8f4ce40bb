"""The mail queue (Postfix's cleanup, qmgr, smtp, local and bounce, in one package).

- ``store``: the on-disk queue (``incoming``/``active``/``deferred``/``hold`` + ``data``).
- ``cleanup``: intake — streamed, headers rewritten, header_checks, fsynced before 250.
- ``routing`` with ``aliases`` and ``transport``: hosted domains, expansion, next hops.
- ``delivery``: one message's run; ``local`` (through ``maa.lda``) and ``outbound`` (SMTP).
- ``bounce``: RFC 3464 DSNs. ``service``: the queue manager, ``build_service(ctx)``.
- ``admin``: what ``maa queue`` and ``maa sendmail -bp/-q`` do.
"""
